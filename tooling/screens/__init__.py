"""Cramp Coach's APL views rendered by Amazon's web renderer in headless Chromium."""
