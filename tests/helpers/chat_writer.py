"""Chat like a student through the store until refused: STORE STUDENT SESSION COUNT [ROTATE].

Prints "ready" once the session exists, then appends question/answer pairs (answers with usage),
starting a new session every ROTATE messages when given; on the first refusal (the student was
deleted) it stops. Last line: "wrote N" (N messages whose add_message returned)."""

import sys

from tutor_cli import SessionManager, TutorError

store, student, session, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rotate = int(sys.argv[5]) if len(sys.argv) > 5 else 0
written = 0
try:
    with SessionManager(store) as manager:
        manager.create_session(student, session, "p")
        print("ready", flush=True)
        for index in range(count):
            if rotate and index and index % rotate == 0:
                session = f"{session.split('~')[0]}~{index}"
                manager.create_session(student, session, "p")
            if index % 2 == 0:
                manager.store.add_message(student, session, "user", f"{student}:{index}")
            else:
                usage = {"prompt_tokens": 10, "completion_tokens": 5}
                manager.store.add_message(student, session, "assistant", f"{student}:{index}", usage=usage)
            written += 1
except TutorError as error:
    print(f"refused: {error}", flush=True)
except Exception as error:  # a dropped role can also end the connection: report, do not crash
    print(f"ended: {type(error).__name__}: {error}", flush=True)
print(f"wrote {written}", flush=True)
