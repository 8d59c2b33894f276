"""moto_server, with AWS's behaviour where moto 5.2 departs from it in a way deployer relies on.

- DeleteResource: AWS deletes the resource with every resource under it ("DeleteResource", API Gateway
  API Reference); moto drops only the one, and its orphans then fail every GetResources.

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

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
