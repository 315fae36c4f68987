"""abcgen.web: a local web app for musicians (`abcgen serve`): generate tunes, see them as
notation, hear them, check/repair/render pasted ABC, and keep the good ones in a songbook.

It composes abcgen.generate, abcgen.repair, abcgen.render and abcgen.songbook; `create_app`
in app.py is the entry, jobs.py runs the work off the request thread, forms.py checks input.
"""
