"""Synthetic SoccerNet-style matches: timeline, broadcast rendering, frame features, game folders.

``generate_game(out_dir, seed)`` writes one game; ``python -m spotting.synth`` is the CLI.
"""

from spotting.synth.game import DEFAULT_FEATURES, GameTimeline, game_timeline, generate_game

__all__ = ["DEFAULT_FEATURES", "GameTimeline", "game_timeline", "generate_game"]
