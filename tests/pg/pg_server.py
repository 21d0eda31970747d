#!/usr/bin/env python3
"""pg_server - a throw-away PostgreSQL server for the tests

initdb into a temporary directory, pg_ctl on a free 127.0.0.1 port, as an unprivileged
user (initdb refuses root, and CI runs as root: then the Debian 'postgres' account, or
'nobody', runs the server); databases on demand; everything stopped and removed at the end.
fsync stays on: the tests check what the gateway promises about durability.

Connections go over TCP with a password (scram-sha-256) kept in a 0600 file, so the
tests also exercise bccid's store_password_file.

From Python:
    with PgServer() as pg:
        uri = pg.create_db("t1")          # postgresql://bcci@127.0.0.1:PORT/t1
        rows = pg.query("t1", "SELECT count(*) FROM dossiers")
From a shell (the Makefile): one server around a command, described to it by environment:
    python3 tests/pg/pg_server.py run -- make test-unit
    BCCI_TEST_PG_URI       postgresql://bcci@127.0.0.1:PORT/   (add a database name)
    BCCI_TEST_PG_PASSWORD_FILE
A process given BCCI_TEST_PG_URI uses that server (PgServer.from_env) instead of starting one.
"""
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

SUPERUSER = "bcci"


def bindir():
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if os.path.exists(os.path.join(out, "initdb")):
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    for v in ("17", "16", "15", "14", "13"):
        d = "/usr/lib/postgresql/%s/bin" % v
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL's initdb not found: install the Debian package postgresql (make deps)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_user():
    """None when not root (run as ourselves), else an unprivileged account's pw entry"""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root with neither a 'postgres' nor a 'nobody' account to run PostgreSQL")


class PgServer:
    def __init__(self, port=None, dir=None, password_file=None, uri=None, owned=True):
        self.port = port
        self.dir = dir
        self.password_file = password_file
        self.base_uri = uri
        self.owned = owned  # we started it, so we stop it
        self.bin = None

    @classmethod
    def from_env(cls):
        """the server a parent process described in the environment, or None"""
        uri = os.environ.get("BCCI_TEST_PG_URI")
        if not uri:
            return None
        port = int(uri.rsplit(":", 1)[1].split("/")[0])
        return cls(port=port, password_file=os.environ.get("BCCI_TEST_PG_PASSWORD_FILE"), uri=uri, owned=False)

    # ------------------------------------------------------------ lifecycle
    def start(self):
        self.bin = bindir()
        self.dir = tempfile.mkdtemp(prefix="bcci-pg.")
        os.chmod(self.dir, 0o755)  # the server's account must reach its data directory
        user = server_user()
        data = os.path.join(self.dir, "data")
        pwfile = os.path.join(self.dir, "initdb.pw")
        password = secrets.token_hex(16)
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        # the copy bccid reads (store_password_file): 0600, owned by whoever runs the tests
        self.password_file = os.path.join(self.dir, "password")
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        open(os.path.join(self.dir, "server.log"), "w").close()
        if user:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
            os.chown(os.path.join(self.dir, "server.log"), user.pw_uid, user.pw_gid)
            os.mkdir(data, 0o700)
            os.chown(data, user.pw_uid, user.pw_gid)
        self._as_server(user, [os.path.join(self.bin, "initdb"), "-D", data, "-U", SUPERUSER, "--pwfile", pwfile,
                               "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                               "--locale=C.UTF-8", "--no-instructions", "--no-sync"])
        os.unlink(pwfile)
        self.port = free_port()
        opts = ("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c max_connections=300 "
                "-c shared_buffers=32MB -c fsync=on -c log_min_messages=warning" % (self.port, data))
        self._as_server(user, [os.path.join(self.bin, "pg_ctl"), "-D", data, "-o", opts, "-l",
                               os.path.join(self.dir, "server.log"), "-w", "-t", "60", "start"])
        self.base_uri = "postgresql://%s@127.0.0.1:%d/" % (SUPERUSER, self.port)
        self.owned = True
        return self

    def _as_server(self, user, argv):
        if user:
            argv = ["runuser", "-u", user.pw_name, "--"] + argv
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (os.path.basename(argv[0 if not user else 4]), r.stdout[-2000:]))
        return r.stdout

    def pg_ctl(self, action, *extra):
        """stop/start the server in place (for outage tests): action is 'stop' or 'start'"""
        data = os.path.join(self.dir, "data")
        user = server_user()
        if action == "start":
            opts = ("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c max_connections=300 "
                    "-c shared_buffers=32MB -c fsync=on -c log_min_messages=warning" % (self.port, data))
            argv = [os.path.join(self.bin or bindir(), "pg_ctl"), "-D", data, "-o", opts, "-l",
                    os.path.join(self.dir, "server.log"), "-w", "-t", "60", "start"]
        else:
            argv = [os.path.join(self.bin or bindir(), "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"]
        return self._as_server(user, argv + list(extra))

    def stop(self):
        if not self.owned or not self.dir:
            return
        try:
            self.pg_ctl("stop")
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def env(self):
        return {"BCCI_TEST_PG_URI": self.base_uri, "BCCI_TEST_PG_PASSWORD_FILE": self.password_file}

    # ------------------------------------------------------------ databases
    def uri(self, db, with_password_file=False):
        u = self.base_uri + db
        return u + ("?password_file=" + self.password_file if with_password_file else "")

    def psql(self, db, *sqls, check=True):
        """run each of sqls (its own transaction) with psql on db; stdout (unaligned,
        tab-separated, no header)"""
        with open(self.password_file) as f:
            password = f.read().strip()
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.uri(db)] + [a for sql in sqls for a in ("-c", sql)],
                           capture_output=True, text=True, env=env)
        if check and r.returncode != 0:
            raise RuntimeError("psql on %s: %s" % (db, r.stderr.strip()))
        return r.stdout

    def query(self, db, sql):
        """rows of sql on db as lists of strings ('' for NULL)"""
        out = self.psql(db, sql)
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def create_db(self, name):
        """a fresh, empty database name (dropped first if a previous run left it); its URI"""
        # template0, WAL-logged: the FILE_COPY strategy's two checkpoints cost more on a busy machine
        self.psql("postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name,
                  'CREATE DATABASE "%s" TEMPLATE template0' % name)
        return self.uri(name)


def main(argv):
    if len(argv) >= 2 and argv[1] == "run":
        cmd = argv[2:]
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        if not cmd:
            print("usage: pg_server.py run -- COMMAND...", file=sys.stderr)
            return 2
        pg = PgServer()
        try:
            pg.start()
        except RuntimeError as e:
            print("pg_server: %s" % e, file=sys.stderr)
            pg.stop()
            return 1
        try:
            print("pg_server: PostgreSQL on 127.0.0.1:%d (%s)" % (pg.port, pg.dir), file=sys.stderr)
            proc = subprocess.Popen(cmd, env=dict(os.environ, **pg.env()))
            try:
                return proc.wait()
            except KeyboardInterrupt:
                proc.send_signal(signal.SIGINT)
                return proc.wait()
        finally:
            pg.stop()
    print("usage: pg_server.py run -- COMMAND...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
