"""Recommenders: candidate sources (popularity, item-kNN, ALS, BPR, transitions, content)
chained into a LambdaRank ranker with business rules and real-time updates."""

from liucun.models.recommend.data import Interactions
from liucun.models.recommend.engine import SOURCES, Recommender

__all__ = ["SOURCES", "Interactions", "Recommender"]
