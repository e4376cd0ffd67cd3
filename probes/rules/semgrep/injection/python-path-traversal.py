import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from flask import request, send_file
from werkzeug.utils import secure_filename

REPORTS = "/srv/reports"


def download():
    name = request.args.get("file")
    # ruleid: python-path-traversal
    return send_file(os.path.join(REPORTS, name))


def read_report():
    name = request.args["name"]
    # ruleid: python-path-traversal
    with open(REPORTS + "/" + name) as handle:
        return handle.read()


def remove_upload():
    # ruleid: python-path-traversal
    os.remove(os.path.join("/srv/uploads", request.form["file"]))


def read_text():
    # ruleid: python-path-traversal
    return Path(REPORTS, request.args["name"]).read_text()


def download_safely():
    name = os.path.basename(request.args.get("file"))
    # ok: python-path-traversal
    return send_file(os.path.join(REPORTS, name))


def upload_name():
    name = secure_filename(request.args.get("file"))
    # ok: python-path-traversal
    return open(os.path.join(REPORTS, name)).read()


def fixed():
    # ok: python-path-traversal
    return open(os.path.join(REPORTS, "index.txt")).read()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        # ruleid: python-path-traversal
        with open("/srv/static" + self.path, "rb") as handle:
            self.wfile.write(handle.read())
