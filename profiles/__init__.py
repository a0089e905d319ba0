"""Profiles shipped with mockprovider; this folder is also installed as package data."""
