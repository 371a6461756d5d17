import boto3, json, os

ddb = boto3.resource("dynamodb")
sns = boto3.client("sns")
table = ddb.Table(os.environ["TABLE_NAME"])
topic_arn = os.environ["TOPIC_ARN"]

def lambda_handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"]

        # Fetch file
        s3 = boto3.client("s3")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        data = json.loads(body)

        # Write to DynamoDB
        pk = data.get("id", key)
        table.put_item(Item={"pk": pk, "payload": data})

        # Publish notification
        sns.publish(
            TopicArn=topic_arn,
            Message=f"New file processed: {key}",
            Subject="S3 Event Processed"
        )
