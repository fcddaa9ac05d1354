"""The README cannot rot: its Python blocks run in order as one session, and every line of its bash blocks
is checked against what it calls (extras, absl flags, the CI test command, the TF Serving layout)."""

import configparser
import json
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def bash_commands(text):
    """Each command line of the README's bash blocks as `(environment assignments, argv)`."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            env = {}
            while words and re.match(r"^[A-Z_]+=", words[0]):
                name, value = words.pop(0).split("=", 1)
                env[name] = value
            if words:
                commands.append((env, words))
    return commands


def test_readme_python_blocks_run_in_order():
    blocks = re.findall(r"```python\n(.*?)```", readme(), re.S)
    assert len(blocks) >= 4
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", "\n".join(blocks)], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(1, 4096, 1000)" in result.stdout  # the seed example's printed shape
    assert "'answer':" in result.stdout
    assert "4 (1, 8, 8, 8)" in result.stdout  # attention maps: 4 layers, [B, heads, T, T]


def test_bash_blocks_are_split_into_commands():
    text = "```bash\nA='{\"x\": 1}' \\\n    python t.py --f=1   # note\npip install -e \".[test]\"\n```\n"
    assert bash_commands(text) == [({"A": '{"x": 1}'}, ["python", "t.py", "--f=1"]),
                                   ({}, ["pip", "install", "-e", ".[test]"])]


def test_every_readme_bash_command_is_of_a_kind_these_tests_check():
    for _, argv in bash_commands(readme()):
        assert (argv[:2] == ["pip", "install"] or argv[:3] == ["python", "-m", "pytest"]
                or argv[:1] == ["python"] and argv[1].startswith("trainers/") or argv[0] in ("docker", "curl")), argv


# Parses each command line's flags with the trainer's own absl definitions (validators included), then
# returns without training: a renamed flag, a dropped enum value or a bad value fails here.
PARSE_FLAGS = """
import importlib, json, sys
from absl import flags
importlib.import_module(sys.argv[1])
for argv in json.loads(sys.argv[2]):
    flags.FLAGS.unparse_flags()
    flags.FLAGS([sys.argv[1]] + argv)
print("parsed", len(json.loads(sys.argv[2])))
"""


def test_readme_trainer_commands_exist_and_their_flags_parse():
    commands = bash_commands(readme())
    by_script = {}
    for env, argv in commands:
        if argv[0] == "python" and argv[1].startswith("trainers/"):
            assert os.path.isfile(os.path.join(ROOT, argv[1])), argv[1]
            by_script.setdefault(argv[1], []).append(argv[2:])
        if "TF_CONFIG" in env:
            config = json.loads(env["TF_CONFIG"])
            assert config["task"]["type"] in config["cluster"]
    assert {"trainers/train_lm.py", "trainers/train_classifier.py", "trainers/train_chat.py"} <= set(by_script)
    assert ["--strategy=tpu", "--tpu=local"] in by_script["trainers/train_lm.py"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for script, argvs in by_script.items():
        module = script[: -len(".py")].replace("/", ".")
        result = subprocess.run([sys.executable, "-c", PARSE_FLAGS, module, json.dumps(argvs)], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (script, result.stderr[-2000:])
        assert f"parsed {len(argvs)}" in result.stdout


def test_readme_install_and_test_commands_are_what_ci_runs():
    commands = [argv for _, argv in bash_commands(readme())]
    assert ["python", "-m", "pytest", "-q"] in commands
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        ci_lines = [line.strip() for line in f]
    assert "python -m pytest -q" in ci_lines
    install = next(argv for argv in commands if argv[:2] == ["pip", "install"])
    extra = re.fullmatch(r"\.\[(\w+)\]", install[-1]).group(1)
    assert f'python -m pip install -q -e ".[{extra}]"' in ci_lines
    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, "setup.cfg"))
    assert extra in setup["options.extras_require"]


def readme_serving_commands():
    """The `docker run` and `curl` lines of the README's serving section, and the export path it names."""
    text = readme()
    export_path = re.search(r'export_for_serving\(lm, "([^"]+)"\)', text).group(1)
    commands = {argv[0]: argv for _, argv in bash_commands(text) if argv[0] in ("docker", "curl")}
    return export_path, commands["docker"], commands["curl"]


def test_readme_docker_command_mounts_the_export_under_the_model_name():
    export_path, docker, curl = readme_serving_commands()
    model_name = docker[docker.index("-e") + 1].split("=", 1)[1]
    source, target = docker[docker.index("-v") + 1].split(":")
    assert source == "$PWD/" + os.path.dirname(export_path)  # TF Serving wants <name>/<version>/
    assert os.path.basename(export_path).isdigit()
    assert target == f"/models/{model_name}"
    assert curl[-1] == f"http://localhost:8501/v1/models/{model_name}:predict"
