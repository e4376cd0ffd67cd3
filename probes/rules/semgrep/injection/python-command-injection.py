import asyncio
import os
import shlex
import subprocess


def ping(request):
    host = request.args.get("host")
    # ruleid: python-command-injection
    os.system("ping -c 1 " + host)


def archive(name):
    # ruleid: python-command-injection
    return subprocess.check_output(f"tar czf /tmp/{name}.tgz data", shell=True)


def listing(folder):
    # ruleid: python-command-injection
    return os.popen("ls -l %s" % folder).read()


def status(unit):
    # ruleid: python-command-injection
    return subprocess.getoutput("systemctl status " + unit)


async def convert(path):
    # ruleid: python-command-injection
    return await asyncio.create_subprocess_shell("convert " + path + " out.png")


def safe_ping(host):
    # ok: python-command-injection
    return subprocess.run(["ping", "-c", "1", host], check=False)


def constant_shell():
    # ok: python-command-injection
    return subprocess.run("uptime", shell=True, check=False)


def quoted(host):
    # ok: python-command-injection
    os.system("true")
    return shlex.quote(host)
