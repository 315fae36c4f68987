"""`abcgen doctor`: what is installed, and what a missing tool turns off."""

from abcgen.cli.app import app, out_console


@app.command("doctor")
def doctor_cmd() -> None:
    """List the external tools abcgen uses and the features each missing one turns off."""
    from abcgen.doctor import tool_status

    for tool, present in tool_status():
        if present:
            out_console.print(f"[green]ok[/green]       {tool.name:10s} {tool.feature}")
        else:
            out_console.print(f"[yellow]missing[/yellow]  {tool.name:10s} off: {tool.feature} "
                              f"(install: {tool.how})")
