"""fal.ai's Model APIs: the queue, the synchronous run host, storage uploads and signed webhooks, for the video
model endpoints platforms use through fal."""
