"""extensions: loads luaws's AWS-behaviour extensions into moto's server process (see docs/localcloud.md).

Importing this module patches nothing yet: each extension is installed right after moto imports
the service it extends (moto's server imports a service on its first request), so a server that
never sees EC2 never pays EC2's ~1 s import. `wrap(app)` adds the `/localcloud-api/` endpoints.
"""
import importlib
import importlib.abc
import importlib.machinery
import json
import sys
import threading

# moto module whose import triggers an extension -> (extension module, services it needs first)
_EXTENSIONS = {
    "moto.kms.responses": ("lc_kms", []),
    "moto.ec2.responses": ("lc_ec2", ["moto.kms.responses"]),
    "moto.autoscaling.responses": ("lc_asg", ["moto.kms.responses", "moto.ec2.responses"]),
}
_installed = set()
_install_lock = threading.RLock()


def _install(moto_module):
    with _install_lock:
        if moto_module in _installed:
            return
        _installed.add(moto_module)
        extension, needs = _EXTENSIONS[moto_module]
        for needed in needs:
            importlib.import_module(needed)
            _install(needed)
        importlib.import_module(extension).install()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs an extension's install() once moto has finished importing the module it patches."""

    def find_spec(self, name, path, target=None):
        if name not in _EXTENSIONS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_install(module):
            exec_module(module)
            _install(name)
        spec.loader.exec_module = exec_then_install
        return spec


def install_all():
    """Imports and patches every extended service now (used by in-process seeding)."""
    for moto_module in _EXTENSIONS:
        importlib.import_module(moto_module)
        _install(moto_module)


if not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AfterImport())
for _already in [m for m in _EXTENSIONS if m in sys.modules]:
    _install(_already)


# --- /localcloud-api/ -------------------------------------------------------------------------

def _json_response(start_response, status, payload):
    body = json.dumps(payload, default=str).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _read_json(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    return json.loads(raw or b"{}")


def _handle(path, options):
    if path == "/localcloud-api/health":
        return {"extensions": True, "installed": sorted(_installed)}
    if path == "/localcloud-api/asg/reconcile":
        install_all()
        import lc_asg
        return {"groups": lc_asg.reconcile(options.get("account"), options.get("region"),
                                           options.get("group"))}
    if path == "/localcloud-api/seed":
        install_all()
        import scenario
        return scenario.seed(options)
    if path == "/localcloud-api/org":
        import lc_identity
        return {"OrganizationId": lc_identity.join_org(options["master"], options["members"])}
    if path.startswith("/localcloud-api/sso/"):
        import lc_sso
        return lc_sso.api(path, options)
    if path == "/localcloud-api/org/seed":
        install_all()
        import lc_org
        return lc_org.seed(options)
    return None


def wrap(app):
    """Returns a WSGI app answering /localcloud-api/* and the SSO emulator's paths (lc_sso)
    itself and passing the rest to moto."""
    import lc_sso

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if lc_sso.handles(environ):
            return lc_sso.app(environ, start_response)
        if not path.startswith("/localcloud-api/"):
            return app(environ, start_response)
        try:
            result = _handle(path, _read_json(environ))
        except Exception as error:  # noqa: BLE001 (report, do not kill the server)
            return _json_response(start_response, "400 Bad Request",
                                  {"error": type(error).__name__, "message": str(error)})
        if result is None:
            return _json_response(start_response, "404 Not Found", {"error": "NotFound"})
        return _json_response(start_response, "200 OK", result)
    return application


def start_reconcile(interval):
    """Retries Auto Scaling launches every `interval` seconds (once Auto Scaling is in use)."""
    def loop():
        while not stop.wait(interval):
            if "moto.autoscaling.responses" not in _installed:
                continue
            try:
                import lc_asg
                lc_asg.reconcile()
            except Exception as error:  # noqa: BLE001 (a bad group must not stop the loop)
                print(f"localcloud: reconcile failed: {error}", file=sys.stderr, flush=True)
    stop = threading.Event()
    threading.Thread(target=loop, name="asg-reconcile", daemon=True).start()
    return stop
