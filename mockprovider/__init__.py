"""mockprovider: a fake AI-video provider server and chaos proxy for load-testing video pipelines."""

__version__ = "0.1.0"
