"""What the skill asks Alexa's permission for, named once for the manifest, the code and tools."""

from __future__ import annotations

# The timers permission: declared in skill.json, asked for by voice, shown on the consent card.
TIMERS_SCOPE = "alexa::alerts:timers:skill:readwrite"
# The token the skill hands Alexa with the voice permission request; Alexa hands it back.
PERMISSION_TOKEN = "cramp-coach-timers"
# Connections.SendRequest "AskFor": Alexa asks the user for the timers permission itself.
PERMISSION_REQUEST: dict[str, object] = {
    "@type": "AskForPermissionsConsentRequest",
    "@version": "2",
    "permissionScopes": [{"permissionScope": TIMERS_SCOPE, "consentLevel": "ACCOUNT"}],
}
