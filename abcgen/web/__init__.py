"""abcgen.web: a local web app for musicians (`abcgen serve`): generate tunes, see them as
notation, hear and practise them, transpose and edit them, check/repair/render pasted ABC, and
keep the good ones in named songbooks, all remembered across restarts.

It composes abcgen.generate, abcgen.repair, abcgen.render, abcgen.notation.transpose and
abcgen.songbook; `create_app` in app.py is the entry, jobs.py runs the work off the request
thread, library.py keeps tunes, jobs and songbooks in SQLite, audio.py makes the page's OGG,
tempo.py writes the form's tempo as Q:, forms.py checks input.
"""
