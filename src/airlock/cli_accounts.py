"""``airlock user …`` and ``airlock token …``: accounts and API tokens from the command line.

Passwords come from a prompt on a terminal (typed twice, never echoed) or, with
``--password-stdin``, from the first line of standard input; they never go on the command
line, where other users of the machine could read them."""

from __future__ import annotations

import sys

import click

from airlock.cli_context import Context, fail
from airlock.config import parse_size
from airlock.errors import AirlockError, ConfigError


def _password(from_stdin: bool, required: bool) -> str | None:
    """The password to set: from standard input, from a prompt on a terminal, or None (no
    password) when neither is there and none is ``required``."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    if required:
        raise click.UsageError("No terminal to ask on: pass the password with --password-stdin.")
    return None


@click.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--quota", default=None, help="Storage quota in bytes (suffixes like 10GB work).")
@click.pass_obj
def user_add(obj: Context, name: str, admin: bool, password_stdin: bool, quota: str | None) -> None:
    """Create a user (on a terminal, it asks for the password)."""
    try:
        quota_bytes = parse_size(quota) if quota is not None else None
        password = _password(password_stdin, required=False)
        created = obj.state().accounts.add_user(name, password, admin, quota_bytes)
    except (AirlockError, ConfigError) as exc:
        raise fail(exc) from None
    role = "admin" if created.is_admin else "user"
    click.echo(f"Created {role} {created.username!r}.")
    if password is None:
        click.echo("The user has no password: sign in with an API token (airlock token create).")


@user.command("list")
@click.pass_obj
def user_list(obj: Context) -> None:
    """List users: name, role, state, Files and bytes stored, quota."""
    from airlock.client.progress import format_bytes

    rows = obj.state().admin.users_listed()
    if not rows:
        click.echo("No users yet: airlock user add NAME --admin")
        return
    click.echo(f"{'NAME':<24} {'ROLE':<6} {'STATE':<9} {'FILES':>6} {'USED':>10} {'QUOTA':>10}")
    for row in rows:
        quota = format_bytes(row["quota_bytes"]) if row["quota_bytes"] else "none"
        click.echo(f"{row['username']:<24} {'admin' if row['is_admin'] else 'user':<6} "
                   f"{'disabled' if row['disabled'] else 'enabled':<9} {row['files']:>6} "
                   f"{format_bytes(row['used_bytes']):>10} {quota:>10}")  # fmt: skip


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def user_passwd(obj: Context, name: str, password_stdin: bool) -> None:
    """Set NAME's password (on a terminal, it asks for it); their browser sessions end."""
    try:
        accounts = obj.state().accounts
        target = accounts.user(name)
        password = _password(password_stdin, required=True)
        assert password is not None
        accounts.set_password(target, password)
    except AirlockError as exc:
        raise fail(exc) from None
    click.echo(f"Password of {target.username!r} set; their browser sessions have ended.")


@user.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for a confirmation.")
@click.pass_obj
def user_delete(obj: Context, name: str, yes: bool) -> None:
    """Delete NAME with their Files, links, drop links and tokens."""
    try:
        st = obj.state()
        target = st.accounts.user(name)
    except AirlockError as exc:
        raise fail(exc) from None
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("No terminal to confirm on: pass --yes to delete.")
        click.confirm(f"Delete {target.username!r} and all of their Files for good?", abort=True)
    count = st.admin.remove_user(target)
    click.echo(f"Deleted {target.username!r} and {count} File{'s' * (count != 1)}.")


@click.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--label", default="cli", show_default=True, help="A name for the token.")
@click.pass_obj
def token_create(obj: Context, name: str, label: str) -> None:
    """Print a new API token for user NAME (as the last line)."""
    from airlock.shapes import TOKEN_REQUEST

    try:
        accounts = obj.state().accounts
        label = TOKEN_REQUEST.parse({"name": label})["name"]
        new = accounts.create_token(accounts.user(name), label)
    except AirlockError as exc:
        raise fail(exc) from None
    click.echo(f"New API token for {name!r} (shown once):", err=True)
    click.echo(new.secret)


@token.command("list")
@click.argument("name")
@click.pass_obj
def token_list(obj: Context, name: str) -> None:
    """List NAME's API tokens: id, name, made, last used (the secrets are not kept)."""
    from airlock.core.timefmt import rfc3339

    try:
        accounts = obj.state().accounts
        tokens = accounts.list_tokens(accounts.user(name))
    except AirlockError as exc:
        raise fail(exc) from None
    if not tokens:
        click.echo(f"{name!r} has no API tokens.")
        return
    click.echo(f"{'ID':<26} {'NAME':<20} {'MADE':<21} LAST USED")
    for t in tokens:
        click.echo(f"{t.id:<26} {t.name[:20]:<20} {rfc3339(t.created_at):<21} "
                   f"{rfc3339(t.last_used_at) or 'never'}")  # fmt: skip


@token.command("revoke")
@click.argument("name")
@click.argument("token_id")
@click.pass_obj
def token_revoke(obj: Context, name: str, token_id: str) -> None:
    """Revoke NAME's API token TOKEN_ID (from airlock token list): it stops working at once."""
    try:
        accounts = obj.state().accounts
        accounts.delete_token(accounts.user(name), token_id)
    except AirlockError as exc:
        raise fail(exc) from None
    click.echo(f"Token {token_id} of {name!r} revoked.")
