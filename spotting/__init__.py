"""Action Spotting Studio: soccer action spotting on SoccerNet-v2 (CALF + self-attention)."""

__version__ = "0.1.0"
