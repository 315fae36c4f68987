"""`abcgen serve`: the local web app (abcgen.web) under uvicorn."""

from pathlib import Path
from typing import Annotated

import typer

from abcgen.cli.app import app, fail, out_console, user_errors

DEFAULT_DATA = Path("data") / "web"


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(
        help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0 exposes the app to "
             "the network).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    model: Annotated[Path | None, typer.Option(
        help="Model checkpoint (default: the bundled model).")] = None,
    data: Annotated[Path, typer.Option(
        help="Folder for everything the app writes.")] = DEFAULT_DATA,
) -> None:
    """Run the web app: generate tunes, see and hear them, keep them in a songbook."""
    if not 0 < port < 65536:
        fail(f"--port must be 1-65535, got {port}")
    if model is not None and not model.is_file():
        fail(f"--model {model} does not exist")
    import uvicorn

    from abcgen.web.app import create_app

    with user_errors():
        web_app = create_app(data, model, host=host, port=port)
    if web_app.state.abcjs_warning:
        out_console.print(f"[yellow]warning:[/yellow] {web_app.state.abcjs_warning}")
    out_console.print(f"abcgen is at http://{host}:{port}/ (files in {data}); Ctrl-C stops it")
    uvicorn.run(web_app, host=host, port=port, log_level="warning")
