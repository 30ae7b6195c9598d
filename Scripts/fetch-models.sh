#!/usr/bin/env bash
# Fetches every file the tests need, each checked against its sha256 in weights-manifest/:
#   - every manifest entry into the model store ($SPARROW_MODELS, else $XDG_CACHE_HOME/sparrow/models,
#     else ~/.cache/sparrow/models) as ID/FILE — the same layout, checks and `.verified` stamp as
#     `sparrow models fetch`, but without building Swift first (the test build then compiles once);
#   - from the llama-cpp-python sdist: llama.cpp's vocab test files (models/ggml-vocab-*), chat
#     templates (models/templates/) and tests/test-chat-template.cpp, unpacked to
#     $SPARROW_CACHE/llama.cpp-0.3.36/vendor/llama.cpp ($SPARROW_CACHE defaults to
#     $XDG_CACHE_HOME/sparrow, else ~/.cache/sparrow).
# Sources are PyPI distributions (`pip download`) or Debian packages (`apt-get download`, no root
# needed; members read through `dpkg-deb --fsys-tarfile`), optionally gunzipped; each package is
# downloaded at most once per run however many entries come from it.
# Hugging Face entries (source.huggingface: Stable Diffusion folders) are references Sparrow never
# downloads: without ids they are skipped silently (no test needs them); named explicitly, the script
# prints what to download and where to put it, fetches the other ids, and exits with status 1.
# Usage: Scripts/fetch-models.sh [ID...]   (no ids: everything). Quick when all is present.
# Needs python3 with pip (Scripts/install-deps.sh), network access to PyPI, and for Debian sources
# apt-get/dpkg-deb with current package lists.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SPARROW_MANIFEST="${SPARROW_MANIFEST:-$repo/weights-manifest}"
exec python3 - "$@" <<'PY'
import atexit, glob, gzip, hashlib, json, os, shutil, subprocess, sys, tarfile, tempfile, zipfile

def log(message):
    print("fetch-models: " + message, file=sys.stderr, flush=True)

home = os.path.expanduser("~")
xdg = os.environ.get("XDG_CACHE_HOME") or ""
store = os.environ.get("SPARROW_MODELS") or (xdg + "/sparrow/models" if xdg else home + "/.cache/sparrow/models")
cache = os.environ.get("SPARROW_CACHE") or (xdg + "/sparrow" if xdg else home + "/.cache/sparrow")
manifest_dir = os.environ["SPARROW_MANIFEST"]

entries = {}
for path in sorted(glob.glob(os.path.join(manifest_dir, "*.json"))):
    with open(path) as f:
        entry = json.load(f)
    entries[entry["id"]] = entry
wanted = sys.argv[1:] or sorted(entries)
for id in wanted:
    if id not in entries:
        sys.exit(f"fetch-models: unknown id '{id}'; known: {', '.join(sorted(entries))}")

def hub_instructions(entry):
    """What to download for a Hugging Face entry and where to put it (as `sparrow models fetch ID` says)."""
    source, folder = entry["source"], os.path.join(store, entry["id"])
    command = entry["download"]
    default = os.path.join(home, ".cache/sparrow/models", entry["id"])
    if folder != default:
        command = command.replace("~/.cache/sparrow/models/" + entry["id"], folder)
    lines = [f"{entry['id']} comes from the Hugging Face hub ({source['huggingface']} at revision {source['revision']}, "
             f"license: {entry['license']}); Sparrow does not download it.",
             "On a machine with internet (pip install huggingface_hub), run:", "  " + command,
             f"and put the folder at {folder} (copy it there if you downloaded elsewhere). It must hold:"]
    lines += ["  " + f["path"] + (f" ({f['bytes']} bytes)" if "bytes" in f else "") for f in entry["files"]]
    lines.append(f"Then check it with `sparrow models verify {entry['id']}`.")
    return "\n".join(lines)

# Hub entries are never fetched: skipped silently in the fetch-everything run, explained when named.
hub_ids = [id for id in wanted if "huggingface" in entries[id]["source"]]
if sys.argv[1:]:
    for id in hub_ids:
        print(hub_instructions(entries[id]), file=sys.stderr)
wanted = [id for id in wanted if id not in hub_ids]

def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

def stamp_line(entry, path):
    # Must match ModelStore.Stamp: "FILE BYTES SECONDS.NANOSECONDS SHA256\n".
    st = os.stat(path)
    return f"{entry['file']} {st.st_size} {st.st_mtime_ns // 10**9}.{st.st_mtime_ns % 10**9} {entry['sha256']}\n"

def is_verified(entry, path, stamp):
    if not os.path.isfile(path) or os.path.getsize(path) != entry["bytes"]:
        return False
    line = stamp_line(entry, path)
    if os.path.exists(stamp) and open(stamp).read() == line:
        return True
    if sha256_of(path) != entry["sha256"]:
        return False
    with open(stamp + ".tmp", "w") as f:
        f.write(line)
    os.replace(stamp + ".tmp", stamp)
    return True

# Packages downloaded this run, by registry spec, so several entries from one package (mediapipe's
# 35 MB wheel, opencv-doc's 96 MB .deb) download it once. Removed when the script exits.
downloads_dir = tempfile.mkdtemp(prefix="sparrow-fetch-downloads-")
atexit.register(shutil.rmtree, downloads_dir, True)
downloaded = {}

def display_name(source):
    return source["pypi"] if "pypi" in source else "Debian " + source["debian"]

def package_key(source):
    return ("pypi", source["pypi"]) if "pypi" in source else ("debian", source["debian"])

# How many of the wanted entries still need each package: a download is deleted after its last use.
uses = {}
for id in wanted:
    for source in entries[id].get("parts") or [entries[id]["source"]]:
        uses[package_key(source)] = uses.get(package_key(source), 0) + 1

def release(entry):
    for source in entry.get("parts") or [entry["source"]]:
        key = package_key(source)
        uses[key] -= 1
        if uses[key] == 0 and key in downloaded:
            shutil.rmtree(os.path.dirname(downloaded.pop(key)), ignore_errors=True)

def download(entry, source):
    key = package_key(source)
    if key in downloaded:
        return downloaded[key]
    dist = tempfile.mkdtemp(dir=downloads_dir)
    if key[0] == "pypi":
        log(f"{entry['id']}: downloading {key[1]} with pip")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--dest", dist, key[1]]
        hint = "check the network and that python3 has pip (Scripts/install-deps.sh)"
    else:
        log(f"{entry['id']}: downloading Debian {key[1]} with apt-get")
        command = ["apt-get", "download", "-q", key[1]]
        hint = ("check the network and that Debian's apt-get and dpkg-deb are installed; if apt-get cannot find "
                "the version, refresh the package lists (sudo apt-get update)")
    try:
        run = subprocess.run(command, cwd=dist, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        sys.exit(f"fetch-models: cannot run {command[0]}; {hint}")
    if run.returncode != 0:
        tool = "apt-get download" if key[0] == "debian" else "pip download"
        sys.exit(f"fetch-models: {tool} {key[1]} failed; {hint}:\n{run.stdout[-2000:]}")
    files = os.listdir(dist)
    if len(files) != 1:
        sys.exit(f"fetch-models: expected one downloaded file for {display_name(source)}, found {files}")
    downloaded[key] = os.path.join(dist, files[0])
    return downloaded[key]

def copy_member(archive, member, out, gunzip):
    """Appends `member` of a wheel, sdist or .deb to `out` (gunzipped if asked); KeyError when absent."""
    def copy(src):
        with (gzip.GzipFile(fileobj=src) if gunzip else src) as data:
            shutil.copyfileobj(data, out, 1 << 20)
    if archive.endswith(".deb"):
        process = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", archive], stdout=subprocess.PIPE)
        try:
            with tarfile.open(fileobj=process.stdout, mode="r|") as t:
                for info in t:
                    if info.isfile() and info.name in (member, "./" + member):
                        copy(t.extractfile(info))
                        return
        finally:
            process.kill()
            process.wait()
        raise KeyError(member)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z, z.open(member) as src:
            copy(src)
    else:
        with tarfile.open(archive) as t:
            src = t.extractfile(member)
            if src is None:
                raise KeyError(member)
            with src:
                copy(src)

def fetch(entry):
    folder = os.path.join(store, entry["id"])
    final = os.path.join(folder, entry["file"])
    stamp = os.path.join(folder, ".verified")
    if is_verified(entry, final, stamp):
        log(f"{entry['id']}: present and verified")
        return final
    os.makedirs(folder, exist_ok=True)
    sources = entry.get("parts") or [entry["source"]]
    packages = " + ".join(display_name(source) for source in sources)
    partial = os.path.join(folder, f".{entry['file']}.partial-{os.getpid()}")
    try:
        # A file shipped in chunks ("parts") is the chunks' files joined in order.
        with open(partial, "wb") as out:
            for source in sources:
                package, member = display_name(source), source.get("path")
                archive = download(entry, source)
                if member is None:
                    with open(archive, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                else:
                    log(f"{entry['id']}: extracting {member}" + (" (gunzip)" if source.get("gunzip") else ""))
                    copy_member(archive, member, out, source.get("gunzip", False))
        size, digest = os.path.getsize(partial), sha256_of(partial)
        if size != entry["bytes"] or digest != entry["sha256"]:
            sys.exit(f"fetch-models: {entry['id']} from {packages} does not match weights-manifest/{entry['id']}.json "
                     f"({size} bytes, sha256 {digest}; expected {entry['bytes']}, {entry['sha256']}); nothing stored. "
                     f"The package changed or the manifest entry is wrong")
        os.replace(partial, final)
    except KeyError:
        sys.exit(f"fetch-models: {package} has no file {member}; fix source.path in weights-manifest/{entry['id']}.json")
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        sys.exit(f"fetch-models: cannot take {member} out of {package} for {entry['id']}: {error}")
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    with open(stamp, "w") as f:
        f.write(stamp_line(entry, final))
    log(f"{entry['id']}: stored {final}")
    return final

paths = {}
for id in wanted:
    paths[id] = fetch(entries[id])
    release(entries[id])

# llama.cpp test files from the verified sdist.
sdist_id = "llama-cpp-python-sdist"
if sdist_id in paths:
    entry = entries[sdist_id]
    name, version = entry["source"]["pypi"].split("==")
    destination = os.path.join(cache, f"llama.cpp-{version}")
    marker = os.path.join(destination, ".complete")
    if os.path.exists(marker) and open(marker).read().strip() == entry["sha256"]:
        log(f"llama.cpp test files present in {destination}")
    else:
        prefix = f"{name.replace('-', '_')}-{version}/"
        wanted_prefixes = ("vendor/llama.cpp/models/ggml-vocab-", "vendor/llama.cpp/models/templates/",
                           "vendor/llama.cpp/tests/test-chat-template.cpp")
        os.makedirs(cache, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".llama.cpp-{version}-", dir=cache)
        os.chmod(staging, 0o755)
        count = 0
        with tarfile.open(paths[sdist_id]) as t:
            for info in t:
                if not info.isfile() or not info.name.startswith(prefix):
                    continue
                relative = info.name[len(prefix):]
                if not relative.startswith(wanted_prefixes) or ".." in relative.split("/"):
                    continue
                target = os.path.join(staging, relative)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with t.extractfile(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                count += 1
        if count == 0:
            sys.exit(f"fetch-models: no llama.cpp test files found in {paths[sdist_id]}")
        with open(os.path.join(staging, ".complete"), "w") as f:
            f.write(entry["sha256"] + "\n")
        shutil.rmtree(destination, ignore_errors=True)
        os.replace(staging, destination)
        log(f"unpacked {count} llama.cpp test files to {destination}")
    print(os.path.join(destination, "vendor", "llama.cpp"))

if sys.argv[1:] and hub_ids:
    sys.exit(f"fetch-models: not fetched (Hugging Face references; see above): {', '.join(hub_ids)}")
PY
