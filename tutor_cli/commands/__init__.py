"""The command groups, one module each; the root (`tutor_cli.cli`) registers them.

    common.py    what every group shares: the group factory, option types, confirmations
    sessions.py  new-session, show, sessions, delete, models
    talk.py      chat (the default command), ask
    practice.py  deck import/list/delete, review, progress
    profile.py   profile (show, --edit, --clear)
    desk.py      class overview/flags/report, search, admin watch
    admin.py     db migrate, admin add-student/add-teacher/export-student/delete-student/purge/limit,
                 export, usage

A command reads its options, makes one domain call and hands the result to a view. It takes the
run's `AppContext` from `ctx.obj` and never imports the root.
"""
