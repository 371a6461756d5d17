-- CloudFormation stacks made from templates (`sluiceway up --template`): one row per stack,
-- `document` the stack as DescribeStacks and DescribeStackResources show it, plus what each
-- resource's provisioner needs to update or delete it later (JSON).
CREATE TABLE IF NOT EXISTS cfn_stacks (
    name        TEXT PRIMARY KEY,
    stack_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    document    TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
