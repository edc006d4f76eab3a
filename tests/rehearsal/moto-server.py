"""moto in server mode for the deploy rehearsal: python3 moto-server.py PORT (loopback only).

Four corrections to moto 5.2, each printed at start, each a place where moto's CloudFormation
differs from CloudFormation's documented behaviour in a way the rehearsal would otherwise trip on
(not in a way that hides a fault of the template or the scripts):

1. A stack created or updated through a change set (CreateChangeSet + ExecuteChangeSet, which is
   how the Serverless Framework deploys) keeps the Outputs of the template it had before, none
   for a new stack: moto's ChangeSet.apply updates the resources but never re-reads the template's
   Outputs. CloudFormation resolves them on every execution, and the deploy script reads them
   (repository URIs). Here the executed template and its Outputs become the stack's, and the
   Outputs' exports are registered as moto's CreateStack registers them (moto's DeleteStack
   expects to find them there).
2. An AWS::ECS::TaskDefinition replaced by a stack update is registered with its container
   definitions in CloudFormation's PascalCase ("Image", "Environment"), which the ECS API then
   does not return: moto converts the keys to the API's camelCase when it creates the resource
   but not when it updates it. Here the update converts them as the create does.
3. An AWS::EC2::RouteTable is never deleted with its stack (moto has no delete for it), and moto
   then refuses to delete the stack's VPC ("has dependencies"), so DeleteStack fails half done.
   Here a stack's route tables are deleted with it, as CloudFormation deletes them.
4. DeleteChangeSet of a change set that does not exist, on a stack that does, fails inside moto
   (UnboundLocalError, an HTML 500). CloudFormation answers it with success and no output, and
   osls relies on that: it deletes its change set by name before every update. (moto keeps
   executed change sets, so this shows only for a stack osls did not create.) Here it succeeds.
"""
import sys

from moto.cloudformation import models as cloudformation
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs import models as ecs


def _change_set_outputs() -> str:
    original = getattr(cloudformation.CloudFormationBackend, "execute_change_set", None)
    if original is None:
        return "not applied (CloudFormationBackend.execute_change_set not found)"

    def execute_change_set(self, change_set_name: str, stack_name: str | None = None) -> None:  # type: ignore[no-untyped-def]
        original(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            found for found in self.change_sets.values() if found.change_set_name == change_set_name
        )
        stack = self.stacks[change_set.stack_id]
        stack.template = change_set.template
        stack.template_dict = change_set.template_dict
        stack.description = change_set.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        # The stack's exports are those of its template now, as create_stack registers them.
        for name, export in list(self.exports.items()):
            if export.exporting_stack_id == stack.stack_id:
                del self.exports[name]
        for export in stack.exports:
            self.exports[export.name] = export

    cloudformation.CloudFormationBackend.execute_change_set = execute_change_set
    return "stack Outputs (and their exports) are resolved when a change set is executed"


def _task_definition_update() -> str:
    original = getattr(ecs.TaskDefinition.update_from_cloudformation_json, "__func__", None)
    if original is None:
        return "not applied (TaskDefinition.update_from_cloudformation_json not found)"

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        properties = dict(cloudformation_json["Properties"])
        for key in ("ContainerDefinitions", "Volumes"):
            if key in properties:
                properties[key] = remap_nested_keys(properties[key], pascal_to_camelcase)
        resource = dict(cloudformation_json, Properties=properties)
        return original(cls, original_resource, new_resource_name, resource, account_id, region_name)

    ecs.TaskDefinition.update_from_cloudformation_json = classmethod(update)
    return "task definitions replaced by a stack update keep their container definitions"


def _route_table_delete() -> str:
    from moto.ec2.models.route_tables import RouteTable

    if hasattr(RouteTable, "delete"):
        return "not applied (RouteTable has a delete of its own)"

    def delete(self, account_id: str, region_name: str) -> None:  # type: ignore[no-untyped-def]
        self.ec2_backend.route_tables.pop(self.id, None)

    RouteTable.delete = delete
    return "route tables are deleted with their stack"


def _delete_missing_change_set() -> str:
    original = getattr(cloudformation.CloudFormationBackend, "delete_change_set", None)
    if original is None:
        return "not applied (CloudFormationBackend.delete_change_set not found)"

    def delete_change_set(self, change_set_name: str) -> None:  # type: ignore[no-untyped-def]
        known = change_set_name in self.change_sets or any(
            change_set.change_set_name == change_set_name for change_set in self.change_sets.values()
        )
        if known:
            original(self, change_set_name)

    cloudformation.CloudFormationBackend.delete_change_set = delete_change_set
    return "DeleteChangeSet of a change set that does not exist succeeds"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: moto-server.py PORT")
    for fix in (
        _change_set_outputs(),
        _task_definition_update(),
        _route_table_delete(),
        _delete_missing_change_set(),
    ):
        print(f"moto-server: {fix}", file=sys.stderr, flush=True)
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
