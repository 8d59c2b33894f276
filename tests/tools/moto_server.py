"""moto_server, with AWS's behaviour where moto 5.2 departs from it in a way deployer relies on.

- DeleteResource: AWS deletes the resource with every resource under it ("DeleteResource", API Gateway
  API Reference); moto drops only the one, and its orphans then fail every GetResources.
- PutRestApi: a document's integration without a uri (a MOCK, such as a CORS preflight) is one AWS takes;
  moto's put_integration requires uri and httpMethod, and the import fails with a TypeError. AWS gives an
  imported method without security the authorization NONE (moto: none at all), and its responses the
  headers and models the document declares (moto: neither).

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

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
