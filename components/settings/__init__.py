"""The typed stack config (`openedx:` keys): the stack and its instances here, each cloud's keys beside its adapter
(`components/clouds/<cloud>/settings.py`). `stack.load` validates them all and reports every problem at once."""
