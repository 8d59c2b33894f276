"""moto_server, with AWS's behaviour where moto 5.2 departs from it in a way deployer relies on.

- DeleteResource: AWS deletes the resource with every resource under it ("DeleteResource", API Gateway
  API Reference); moto drops only the one, and its orphans then fail every GetResources.
- PutRestApi: a document's integration without a uri (a MOCK, such as a CORS preflight) is one AWS takes;
  moto's put_integration requires uri and httpMethod, and the import fails with a TypeError. AWS gives an
  imported method without security the authorization NONE (moto: none at all), and its responses the
  headers and models the document declares (moto: neither).
- Lambda's RevisionId: AWS gives every function one, and a new one at each change of its code,
  configuration or resource policy (AddPermission and RemovePermission take a RevisionId to guard
  against exactly that; GetPolicy answers the function's); moto gives functions none. ListFunctions
  pages 50 functions at a time and leaves out State and LastUpdateStatus ("ListFunctions", Lambda API
  Reference); moto sends them all, with those.
- ACM's idempotency token: two RequestCertificate calls with one token make one certificate. moto looks
  the token up, generates a key (slow), then records the token, so two calls at once (a request of a
  killed run still on its way, and the resumed run's) make two.

Run it as moto_server: python3 moto_server.py -H 127.0.0.1 -p PORT.
"""
import sys

from moto.apigateway import models

_delete_one = models.APIGatewayBackend.delete_resource


def delete_resource(self, function_id, resource_id):
    api = self.get_rest_api(function_id)
    under = {resource_id}
    grew = True
    while grew:
        children = {rid for rid, r in api.resources.items() if r.parent_id in under and rid not in under}
        under |= children
        grew = bool(children)
    for rid in under - {resource_id}:
        api.resources.pop(rid, None)
    return _delete_one(self, function_id, resource_id)


models.APIGatewayBackend.delete_resource = delete_resource

_put_integration = models.APIGatewayBackend.put_integration


def put_integration(self, function_id, resource_id, method_type, integration_type, uri=None,
                    integration_method=None, **rest):
    return _put_integration(self, function_id, resource_id, method_type, integration_type, uri,
                            integration_method, **rest)


models.APIGatewayBackend.put_integration = put_integration

_put_method = models.APIGatewayBackend.put_method


def put_method(self, function_id, resource_id, method_type, authorization_type, *args, **kwargs):
    return _put_method(self, function_id, resource_id, method_type, authorization_type or "NONE", *args,
                       **kwargs)


models.APIGatewayBackend.put_method = put_method

_put_rest_api = models.APIGatewayBackend.put_rest_api


def put_rest_api(self, function_id, api_doc, fail_on_warnings, mode="merge"):
    api = _put_rest_api(self, function_id, api_doc, fail_on_warnings, mode)
    for path, operations in api_doc.get("paths", {}).items():
        resource = api.get_resource_for_path(path)
        for verb, operation in operations.items():
            for code, response in (operation.get("responses") or {}).items():
                headers = response.get("headers") or {}
                parameters = {f"method.response.header.{h}": False for h in headers} or None
                content = response.get("content") or {}
                models_ = {
                    media: body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] or "Empty"
                    for media, body in content.items()
                } or None
                self.put_method_response(function_id, resource.id, verb.upper(), code, models_, parameters)
    return api


models.APIGatewayBackend.put_rest_api = put_rest_api

import json
import uuid

from moto.awslambda import exceptions as lambda_exceptions
from moto.awslambda import models as lambda_models
from moto.awslambda import responses as lambda_responses


def _revision(fn):
    if not getattr(fn, "_revision", None):
        fn._revision = str(uuid.uuid4())
    return fn._revision


def _bump(fn):
    fn._revision = str(uuid.uuid4())


_get_configuration = lambda_models.LambdaFunction.get_configuration


def get_configuration(self, on_create=False):
    config = _get_configuration(self, on_create)
    config["RevisionId"] = _revision(self)
    return config


lambda_models.LambdaFunction.get_configuration = get_configuration


def _bumping(method):
    def bumped(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        _bump(self)
        return result

    return bumped


for _name in ("update_configuration", "update_function_code"):
    setattr(lambda_models.LambdaFunction, _name, _bumping(getattr(lambda_models.LambdaFunction, _name)))

_add_permission = lambda_models.LambdaBackend.add_permission
_remove_permission = lambda_models.LambdaBackend.remove_permission
_publish_version = lambda_models.LambdaBackend.publish_version
_get_policy = lambda_models.LambdaBackend.get_policy


class _StatementExists(lambda_exceptions.LambdaClientError):
    code = 409

    def __init__(self, sid):
        super().__init__(
            "ResourceConflictException",
            f"The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the "
            "existing statement.",
        )


def add_permission(self, function_name, qualifier, raw):
    # Lambda refuses a statement id the policy holds already; moto would add a second one.
    sid = json.loads(raw).get("StatementId")
    if any(s.get("Sid") == sid for s in self.get_function(function_name, qualifier).policy.statements):
        raise _StatementExists(sid)
    statement = _add_permission(self, function_name, qualifier, raw)
    _bump(self.get_function(function_name, qualifier))
    return statement


def remove_permission(self, function_name, sid, revision=""):
    _remove_permission(self, function_name, sid, revision)
    _bump(self.get_function(function_name))


def publish_version(self, function_name, description=""):
    version = _publish_version(self, function_name, description)
    _bump(self.get_function(function_name))
    return version


def get_policy(self, function_name, qualifier=None):
    policy = json.loads(_get_policy(self, function_name, qualifier))
    policy["RevisionId"] = _revision(self.get_function(function_name, qualifier))
    return json.dumps(policy)


lambda_models.LambdaBackend.add_permission = add_permission
lambda_models.LambdaBackend.remove_permission = remove_permission
lambda_models.LambdaBackend.publish_version = publish_version
lambda_models.LambdaBackend.get_policy = get_policy

_LISTED_WITHOUT = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
                   "LastUpdateStatusReasonCode")
_PAGE = 50


def list_functions(self):
    version = self.querystring.get("FunctionVersion", [None])[0]
    everything = sorted(self.backend.list_functions(version), key=lambda f: f.function_arn)
    # The marker is the last ARN given, not a count: functions other tests create meanwhile in this
    # shared server neither repeat nor hide one (Lambda's own markers are as stable).
    after = self.querystring.get("Marker", [""])[0] or ""
    rest = [fn for fn in everything if fn.function_arn > after]
    page = [fn.get_configuration() for fn in rest[:_PAGE]]
    for config in page:
        for field in _LISTED_WITHOUT:
            config.pop(field, None)
    result = {"Functions": page}
    if len(rest) > _PAGE:
        result["NextMarker"] = rest[_PAGE - 1].function_arn
    return json.dumps(result)


lambda_responses.LambdaResponse.list_functions = list_functions

import threading

from moto.acm import models as acm_models

_request_certificate = acm_models.AWSCertificateManagerBackend.request_certificate
_one_request_at_a_time = threading.Lock()


def request_certificate(self, *args, **kwargs):
    with _one_request_at_a_time:
        return _request_certificate(self, *args, **kwargs)


acm_models.AWSCertificateManagerBackend.request_certificate = request_certificate

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
