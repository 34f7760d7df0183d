"""Telephone exchanges behind one small interface (base.Exchange): the simulated one (the demo's default) and
Asterisk over ARI. No app imports here: calls.services turns what an exchange reports into domain changes."""
