"""deploy/template.yaml (the SAM template of the Lambda query API) is valid CloudFormation, checked offline by
cfn-lint (which ships its resource specs; nothing is downloaded), and grants read-only access to the database
object and nothing else."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "template.yaml"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
HANDLER = "myrunstreak_pipeline.api.lambda_handler.handler"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads the short intrinsic tags (!Ref, !Sub, …) as {"Ref": …} / {"Fn::Sub": …}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)  # noqa: S506


@pytest.fixture(scope="module")
def function(template) -> dict:
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 1
    return functions[0]["Properties"]


def test_cfn_lint_finds_nothing_offline(monkeypatch):
    """cfn-lint's Python API, with every outgoing connection refused: no error, no warning, no download."""
    from cfnlint.api import ManualArgs, lint_file

    def no_network(*args, **kwargs):
        raise AssertionError(f"cfn-lint tried to reach the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    matches = lint_file(TEMPLATE, ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert not matches, "\n".join(str(match) for match in matches)


def test_cfn_lint_command_passes():
    """The command the docs give (exit status 0: no errors and no warnings), with proxies pointing nowhere."""
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    done = subprocess.run(
        [str(CFN_LINT), str(TEMPLATE)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_function_runs_the_lambda_handler(template, function):
    """A container image on AWS's Python 3.12 Lambda base image (a zip package would exceed Lambda's 250 MB
    unpacked limit), running the documented handler, with the documented settings as parameters."""
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    settings = {**template.get("Globals", {}).get("Function", {}), **function}
    assert settings["PackageType"] == "Image"
    assert settings["ImageConfig"]["Command"] == [HANDLER]
    assert settings["MemorySize"] == 1024 and settings["Timeout"] == 15
    variables = settings["Environment"]["Variables"]
    assert {
        "MYRUNSTREAK_DB",
        "MYRUNSTREAK_TIMEZONE",
        "MYRUNSTREAK_API_REFRESH_SECONDS",
        "MYRUNSTREAK_API_CORS_ORIGINS",
    } <= set(variables)
    assert variables["MYRUNSTREAK_DB"] == {"Fn::Sub": "s3://${DatabaseBucket}/${DatabaseKey}"}
    for name in ("MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_API_REFRESH_SECONDS", "MYRUNSTREAK_API_CORS_ORIGINS"):
        assert variables[name]["Ref"] in template["Parameters"], name


def test_image_is_python_312_with_the_same_handler(template):
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    dockerfile = TEMPLATE.parent / resource["Metadata"]["DockerContext"] / resource["Metadata"]["Dockerfile"]
    lines = [line.strip() for line in dockerfile.read_text(encoding="utf-8").splitlines()]
    assert "FROM public.ecr.aws/lambda/python:3.12" in lines
    assert f'CMD ["{HANDLER}"]' in lines


def test_http_api_routes_everything_to_the_function(template, function):
    apis = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::HttpApi"]
    assert len(apis) == 1
    events = list(function["Events"].values())
    assert len(events) == 1 and events[0]["Type"] == "HttpApi"
    # no Path/Method: the $default route, the catch-all (every path and method reaches the app)
    assert events[0]["Properties"] == {"ApiId": {"Ref": apis[0]}}
    assert "ApiUrl" in template["Outputs"] and apis[0] in str(template["Outputs"]["ApiUrl"]["Value"])


def _statements(function: dict) -> list[dict]:
    statements = []
    for policy in function["Policies"]:
        assert isinstance(policy, dict) and "Statement" in policy, "only inline policies (no managed ones)"
        statements += policy["Statement"]
    return statements


def test_policy_is_read_only_on_the_database_object(function):
    statements = _statements(function)
    assert all(statement["Effect"] == "Allow" for statement in statements)
    actions = {
        action
        for statement in statements
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert actions == {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"}
    assert not any("*" in action or action.split(":")[1].startswith(("Put", "Delete")) for action in actions)
    for statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement
        resource = statement["Resource"]["Fn::Sub"]
        if "s3:ListBucket" in statement["Action"]:
            assert resource == "arn:${AWS::Partition}:s3:::${DatabaseBucket}"
            assert statement["Condition"] == {"StringLike": {"s3:prefix": [{"Ref": "DatabaseKey"}]}}
        else:
            assert resource == "arn:${AWS::Partition}:s3:::${DatabaseBucket}/${DatabaseKey}"  # the object only
