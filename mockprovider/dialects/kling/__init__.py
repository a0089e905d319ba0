"""Kling AI's official API: JWT auth, text2video and image2video, its envelope, error codes and callbacks."""
