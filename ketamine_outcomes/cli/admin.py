"""Commands that run the clinic's installation: settings, audit trail, backup, publish and dashboard."""

import os
import sys
from importlib import resources
from pathlib import Path

import duckdb

from ketamine_outcomes.access import roles
from ketamine_outcomes.access import audit
from ketamine_outcomes.store import backup
from ketamine_outcomes.metrics import marts
from ketamine_outcomes.store import database
from ketamine_outcomes.definitions import RENAMED_SETTINGS, check_setting
from ketamine_outcomes.store import publish
from ketamine_outcomes.cli.output import print_table


def settings_command(args) -> int:
    wanted = {"list": 0, "set": 2, "reset": 1}[args.action]
    given = [a for a in (args.name, args.value) if a is not None]
    if len(given) != wanted:
        usage = {"list": "settings list", "set": "settings set NAME VALUE", "reset": "settings reset NAME"}
        print(f"refused, nothing changed: the command is `{usage[args.action]}`; got {' '.join(given) or 'nothing'} "
              f"after {args.action}", file=sys.stderr)
        return 2
    con = database.connect(args.db, wait_seconds=120, init=args.init)
    if args.action in ("set", "reset"):
        known = [r[0] for r in con.execute("select name from default_settings").fetchall()]
        if args.name in RENAMED_SETTINGS:
            kind = "instrument" if args.name == "response_fraction" else "route"
            print(f"refused, nothing changed: {args.name} is now per {kind}: {', '.join(RENAMED_SETTINGS[args.name])}",
                  file=sys.stderr)
            return 2
        if args.name not in known:
            print(f"unknown setting {args.name!r}; settings: {', '.join(sorted(known))}", file=sys.stderr)
            return 2
        if args.action == "set":
            try:
                value = check_setting(args.name, args.value)
            except ValueError as refusal:
                print(f"refused, nothing changed: {refusal}", file=sys.stderr)
                return 2
            con.execute("insert or replace into setting_overrides values ($name, $value)",
                        {"name": args.name, "value": value})
            change = f"{args.name} = {value:g}"
        else:
            con.execute("delete from setting_overrides where name = $name", {"name": args.name})
            change = f"{args.name} reset"
        audit.record(con, audit.os_user(), audit.CLI, "settings", change)
        marts.ensure_built(con)  # the metric tables follow the new definition
        publish.after_write(con)  # and so do the dashboard replicas' copies (when publishing is on)
    frame = con.execute("select name, value, default_value, minimum, maximum, description from settings order by name").df()
    print_table(frame, args.json)
    return 0


def audit_command(args) -> int:
    if not Path(args.db).is_file():
        print(f"{args.db}: no such database", file=sys.stderr)
        return 1
    con = database.connect(args.db, read_only=True, init=False)
    frame = audit.entries(con, args.since)
    frame["logged_at"] = frame["logged_at"].astype(str).str[:19]
    print_table(frame, args.json)
    return 0


def backup_command(args) -> int:
    def waiting() -> None:
        print(f"  ... waiting for {args.db}: in use by another process (up to {args.wait:.0f} s)",
              file=sys.stderr, flush=True)

    destination = backup.destination_for(args.db, args.destination)
    try:
        counts = backup.backup(args.db, destination, wait_seconds=args.wait, on_wait=waiting, replace=args.replace,
                               recorded_as=(audit.os_user(), audit.CLI))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    except (database.DatabaseFault, duckdb.Error):
        raise  # the database's own faults: main names them
    except OSError as error:  # the destination's: a folder this user may not write, a full disk
        reason = error.strerror or str(error)
        print(reason if str(destination) in reason else f"{destination}: cannot write the backup there ({reason}); "
              "nothing was replaced", file=sys.stderr)
        return 2
    print(f"{destination}: backup of {args.db}, checked: {len(counts)} tables, {sum(counts.values()):,} rows "
          f"({counts.get('batches', 0)} batches)")
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def publish_command(args) -> int:
    """Turn publishing on for the database (its folder of copies) and publish the first copy."""
    if not Path(args.db).is_file():
        print(f"{args.db}: no such database; nothing was published", file=sys.stderr)
        return 2
    con = database.connect(args.db, wait_seconds=args.wait, init=False)
    try:
        publish.folder(args.db).mkdir(exist_ok=True)
        copy = publish.after_write(con)
    finally:
        con.close()
    if copy is None:
        print(f"{args.db}: the copy could not be made (see the message above); nothing was published",
              file=sys.stderr)
        return 1
    print(f"{args.db}: published {copy.name} in {publish.folder(args.db)}; replicas (dashboard --replica) read "
          "it, and every ingest, undo and settings change publishes a new one")
    return 0


def dashboard_command(args) -> int:
    # Streamlit runs a script by its path; the dashboard is package data of this package (pyproject.toml).
    entry = Path(str(resources.files("ketamine_outcomes.dashboard") / "app.py"))
    db = Path(args.db).resolve()
    environment = {**os.environ, "KETAMINE_OUTCOMES_DB": str(db)}
    options = []
    if args.access and args.no_sign_in:
        print("--access and --no-sign-in contradict each other: give one", file=sys.stderr)
        return 2
    if args.access:
        try:
            access_file = roles.read(args.access).path.resolve()
        except roles.AccessFileError as error:
            print(error, file=sys.stderr)
            return 2
        # Streamlit reads [auth] from its secrets file: the access file is that file, so the keys live in
        # one place. Tables' own CSV buttons are off: row downloads go through the audited Data page.
        options += ["--secrets.files", str(access_file), "--client.disableDataExport", "true"]
        environment["KETAMINE_OUTCOMES_ACCESS"] = str(access_file)
    elif args.address not in LOOPBACK and not args.no_sign_in:
        print(f"--address {args.address} would show every page, upload and patient-level download to anyone "
              "who can reach it. Give --access ACCESS.toml (sign-in and roles: docs/deploy.md), or "
              "--no-sign-in if something in front of the dashboard already signs people in.", file=sys.stderr)
        return 2
    elif args.no_sign_in:
        print(f"WARNING: --no-sign-in: anyone who reaches {args.address}:{args.port} sees every page and may "
              "upload, download patient-level rows and change settings.", file=sys.stderr, flush=True)
    # Checked here so an unusable --db is one line now, not a page later. A path with no file yet is a new
    # clinic: --init creates its database now; without it the pages offer to create it with a click (one
    # who may upload), so that a mistyped or moved path is seen, never silently made a new, empty database.
    existed = db.exists()
    if args.replica:
        if args.init:
            print("--replica and --init contradict each other: a replica only reads", file=sys.stderr)
            return 2
        if publish.newest(db) is None:
            print(f"{args.db}: {publish.NONE_YET}", file=sys.stderr)
            return 2
        environment["KETAMINE_OUTCOMES_REPLICA"] = "1"
    elif not existed and not args.init:
        if not db.parent.is_dir():
            print(f"{args.db}: no such folder (mistyped, or not mounted?). Nothing was created; give --init to "
                  "create the folder and a new database.", file=sys.stderr)
            return 2
        environment["KETAMINE_OUTCOMES_OFFER_NEW"] = "1"
        print(f"{args.db}: no database there yet; nothing was created. The dashboard offers to create an empty "
              "one (or give --init).", flush=True)
    else:
        try:
            database.connect(db, read_only=not args.init, init=args.init, label=args.db).close()
        except database.DatabaseBusy:
            pass  # an ingest is running: the dashboard waits for it
        except database.DatabaseReadOnly:
            pass  # the dashboard opens it read-only for viewing
    if args.init and not existed:
        print(f"{args.db}: created an empty database")
    command = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(args.port),
               "--server.address", args.address, "--server.headless", "true",
               "--browser.gatherUsageStats", "false", *options]
    print(f"Dashboard on http://{'localhost' if args.address in LOOPBACK else args.address}:{args.port} "
          f"(database {db}{', sign-in and roles from ' + str(args.access) if args.access else ''})", flush=True)
    # Streamlit replaces this process, so a SIGTERM (systemd, Ctrl-C, kill) reaches the server itself
    # instead of leaving it running behind a dead parent.
    os.execve(sys.executable, command, environment)
