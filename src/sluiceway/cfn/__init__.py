"""CloudFormation locally: a SAM or CloudFormation template read, transformed, resolved and created on the running stack.

``reading`` loads the template (YAML short forms, ``AWS::Include``), ``sam`` runs AWS's
SAM translator offline, ``intrinsics`` resolves Ref, Fn::* and Conditions, ``graph``
orders resources by what they reference, ``resources/`` holds one provisioner per
resource type (each an AWS API call or two through the endpoint's own operations, so a
queue made from a template is the queue CreateQueue makes), and ``deployer`` runs a
create or an update and keeps the stack's record (``backends/local/stacks.py``), which
the endpoint's CloudFormation API serves.
"""
