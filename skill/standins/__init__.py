"""Local stand-ins of Alexa services, used by the tests and by `cramp-coach chat`."""
