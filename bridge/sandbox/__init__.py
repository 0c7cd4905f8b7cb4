"""`smschat-bridge demo`: the real bridge between stand-ins for Slack and Vonage, in a browser.

`world.Sandbox` starts the fakes from `bridge.fakes` (the classes the tests use), the bridge
itself on its embedded defaults, and a small relay for what those services call back; it
speaks only their wire formats to the bridge. `server` serves the one page (a phone and a
Slack-like inbox) and its JSON and Server-Sent Events endpoints. `seed` fills it with an
example conversation, sent through the bridge like any other.
"""
