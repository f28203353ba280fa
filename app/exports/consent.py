"""The consent rule exports apply: see `core.consent`, where the phone applies it too."""

from core.consent import ADVOCACY, SHARE_ORG, STATISTICS, UWAZI, allows, given

__all__ = ["ADVOCACY", "SHARE_ORG", "STATISTICS", "UWAZI", "allows", "given"]
