"""Cramp Coach: an Alexa skill that talks a runner through a bad leg cramp."""
