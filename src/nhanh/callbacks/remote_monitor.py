"""RemoteMonitor: POST each epoch's logs to a server, as Keras 3 does.

The request is sent with the standard library (urllib), so nhanh needs no HTTP package. The body
is what Keras's (requests-based) callback sends: the logs plus 'epoch' as JSON, either as the
whole body (send_as_json=True, Content-Type application/json) or as one field of a URL-encoded
form (the default). A server that cannot be reached, or that answers with an HTTP error, gives a
warning and training goes on; each request waits at most TIMEOUT_S seconds, so a silent server
cannot hang training.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from nhanh.callbacks.callback import Callback

TIMEOUT_S = 10.0


class RemoteMonitor(Callback):
    """Send each epoch's logs to `root + path` as an HTTP POST.

    Args:
        root: The server's root URL.
        path: The path, relative to `root`, the events are posted to.
        field: The form field that holds the JSON (only when send_as_json=False).
        headers: Extra HTTP headers, a dict.
        send_as_json: True sends the JSON as the body ("application/json"); False sends it
            inside a URL-encoded form under `field`.
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/",
                 field: str = "data", headers: dict | None = None, send_as_json: bool = False):
        super().__init__()
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(f"RemoteMonitor: `headers` must be a dict or None, got "
                            f"{type(headers).__name__} {headers!r}.")
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        if self.send_as_json:
            body, kind = json.dumps(send).encode(), "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            kind = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.root + self.path, data=body, method="POST",
                                         headers={"Content-Type": kind, **(self.headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError as e:
            warnings.warn(f"RemoteMonitor: the server at {self.root} answered HTTP {e.code} "
                          f"({e.reason}) to the logs of epoch {epoch + 1}.", stacklevel=2)
        except (urllib.error.URLError, OSError) as e:
            warnings.warn(f"RemoteMonitor could not reach the server at {self.root} ({e}); the "
                          f"logs of epoch {epoch + 1} were not sent.", stacklevel=2)
