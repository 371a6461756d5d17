"""Templates with SES resources: an identity that can send at once, a template, a configuration set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluiceway.cfn.deployer import Deployment

Aws = Callable[..., Any]

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Sender:
    Type: AWS::SES::EmailIdentity
    Properties:
      EmailIdentity: cfn-sender.example
  Report:
    Type: AWS::SES::Template
    Properties:
      Template:
        TemplateName: cfn-report
        SubjectPart: "Run {{id}}"
        TextPart: "Run {{id}} finished"
  Tracking:
    Type: AWS::SES::ConfigurationSet
    Properties:
      Name: cfn-tracking
Outputs:
  Identity:
    Value: !Ref Sender
  TokenName:
    Value: !GetAtt Sender.DkimDNSTokenName1
  TokenName2:
    Value: !GetAtt Sender.DkimDNSTokenName2
  TokenName3:
    Value: !GetAtt Sender.DkimDNSTokenName3
  TokenValue3:
    Value: !GetAtt Sender.DkimDNSTokenValue3
  Template:
    Value: !Ref Report
  Set:
    Value: !Ref Tracking
"""


def test_ses_resources_are_made_and_a_sender_can_send(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    outputs = make_stack(app_dir(TEMPLATE), "ses-resources").outputs
    assert (outputs["Identity"], outputs["Template"], outputs["Set"]) == ("cfn-sender.example", "cfn-report", "cfn-tracking")
    # Easy DKIM's three CNAME records, as the standard template pattern reads them.
    names = [outputs[key] for key in ("TokenName", "TokenName2", "TokenName3")]
    assert all(n.endswith("._domainkey.cfn-sender.example") for n in names) and len(set(names)) == 3
    token = names[2].split(".", 1)[0]
    assert token.isalnum() and token == token.lower() and outputs["TokenValue3"] == f"{token}.dkim.amazonses.com"
    ses = aws("ses")
    sent = ses.send_templated_email(
        Source="bot@cfn-sender.example",
        Destination={"ToAddresses": ["someone@example.com"]},
        Template="cfn-report",
        TemplateData=json.dumps({"id": 9}),
        ConfigurationSetName="cfn-tracking",
    )
    assert sent["MessageId"]
    # Made again unchanged: the same resources, no error.
    make_stack(app_dir(TEMPLATE), "ses-resources")
    assert ses.get_template(TemplateName="cfn-report")["Template"]["SubjectPart"] == "Run {{id}}"
