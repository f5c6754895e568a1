"""Course materials: `tutor course add/list/remove`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tutor_cli.commands.common import (
    ListFormat,
    ListFormatOption,
    StudentOption,
    YesOption,
    app_context,
    confirm_destruction,
    examples,
    group,
    print_listing,
)

course_app = group("Course materials: notes, worksheets and chapters the tutor answers from.")

ClassOption = Annotated[
    bool, typer.Option("--class", help="Class materials (a teacher or the administrator, in a class database).")
]


@course_app.command(
    "add",
    epilog=examples(
        "tutor course add cells.md notes.pdf          your own materials",
        "tutor course add chapter3.pdf --class       (a teacher: every student's questions use it)",
    ),
)
def course_add_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Markdown, plain text, code or PDF files.", show_default=False)],
    class_material: ClassOption = False,
    student: StudentOption = None,
) -> None:
    """Add files to the course materials; a file already there by that name is replaced."""
    from tutor_cli import access, course
    from tutor_cli.config import now

    app = app_context(ctx)
    documents = course.read_files(files)  # every file is read first: one bad file, nothing added
    with app.open_manager() as manager:
        owner = access.material_owner(manager.store, student, app.settings.student, class_material=class_material)
        for added in course.add_documents(manager.store, owner, documents, now()):
            verb = "Replaced" if added.replaced else "Added"
            typer.echo(f"{verb} {added.name}: {added.passages} passage{'s' if added.passages != 1 else ''}.")


@course_app.command("list", epilog=examples("tutor course list", "tutor course list --format json"))
def course_list_command(
    ctx: typer.Context,
    student: StudentOption = None,
    format: ListFormatOption = ListFormat.table,
) -> None:
    """List your course materials and your class's, with their passage counts."""
    from tutor_cli import access
    from tutor_cli.views import course as course_views

    app = app_context(ctx)
    with app.open_manager() as manager:
        materials = manager.store.list_materials(access.material_reader(manager.store, student, app.settings.student))
    print_listing(
        app,
        format is ListFormat.json,
        materials,
        lambda: course_views.materials_json(materials),
        "No course materials yet; add some with `tutor course add FILE`.",
        lambda console: course_views.print_materials(console, materials),
    )


@course_app.command(
    "remove", epilog=examples("tutor course remove cells.md", "tutor course remove chapter3.pdf --class --yes")
)
def course_remove_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The material's name, as `tutor course list` shows it.")],
    class_material: ClassOption = False,
    student: StudentOption = None,
    yes: YesOption = False,
) -> None:
    """Remove a material and its passages (what was already sent with questions stays in the sessions)."""
    from tutor_cli import access, course

    app = app_context(ctx)
    kind = "class material" if class_material else "material"
    with app.open_manager() as manager:
        owner = access.material_owner(manager.store, student, app.settings.student, class_material=class_material)
        known = {m.name: m for m in manager.store.list_materials(owner or None) if m.is_class == class_material}
        if name not in known:
            raise course.MaterialNotFoundError(f"There is no {kind} {name!r}; `tutor course list` shows them.")
        confirm_destruction(app, f"Remove {kind} {name} ({known[name].passages} passages)?", yes)
        removed = manager.store.remove_material(owner, name)
        if removed is None:
            raise course.MaterialNotFoundError(f"There is no {kind} {name!r}; `tutor course list` shows them.")
    typer.echo(f"Removed {name} ({removed} passages).")
