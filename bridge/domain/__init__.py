"""Floor 1: the values the bridge reasons about. Standard library, phonenumbers and
`bridge.errors` only; every other package builds on this one."""
