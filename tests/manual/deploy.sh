#!/usr/bin/env bash
# =============================================================================
# The serverless deployment manual, steps 1-8, as its own aws CLI commands
# (v1 or v2, with zip, jq and curl): the baseline `make bench` times deployer
# against, and the hand-made deployment the adoption test hands to deployer.
#
#   deploy.sh ENDPOINT SERVICE DOMAIN BACKEND_DIR FRONTEND_DIST_DIR
#
#   ENDPOINT           e.g. http://127.0.0.1:5599 (moto_server). Pass "aws" (or "")
#                      to talk to the real AWS endpoints.
#   SERVICE            service prefix, e.g. new-service
#   DOMAIN             e.g. new-service.com
#   BACKEND_DIR        dir containing handlers/ src/ lib/ utils/
#   FRONTEND_DIST_DIR  built frontend (index.html, error.html, assets...)
#
# It mirrors the manual: one CLI call per manual command, in the manual's order,
# IDs captured with --query/--output text. It is NOT idempotent (a second run
# against the same account fails at the first create-* that rejects duplicates,
# or silently creates duplicates where AWS allows them, e.g. create-rest-api).
#
# Where the emulator lacks an operation the call is kept and the script goes on
# (`|| unsupported "..."`); such calls are listed in $WORK_DIR/unsupported.txt.
#
# Environment knobs (all optional):
#   AWS_REGION / AWS_DEFAULT_REGION   default us-east-1
#   STAGE                             default prod
#   RUNTIME                           default python3.12
#   LAMBDA_TIMEOUT                    default 29 (API Gateway integration limit)
#   IAM_PROPAGATION_SLEEP             seconds to sleep after create-role; default
#                                     10 against real AWS, 0 against an emulator
#   WORK_DIR                          scratch dir (zip, JSON docs, logs); default mktemp
#
# Outputs: $WORK_DIR/outputs.env (all captured IDs/URLs),
#          $WORK_DIR/aws-calls.tsv (one line per aws CLI invocation:
#          elapsed_ms <TAB> exit_code <TAB> service operation <TAB> manual step),
#          $WORK_DIR/unsupported.txt.
# =============================================================================
set -euo pipefail

if [[ $# -ne 5 ]]; then
  echo "usage: $0 ENDPOINT SERVICE DOMAIN BACKEND_DIR FRONTEND_DIST_DIR" >&2
  exit 2
fi

ENDPOINT="$1"
SERVICE="$2"
DOMAIN="$3"
BACKEND_DIR="$(cd "$4" && pwd)"
FRONTEND_DIST_DIR="$(cd "$5" && pwd)"

REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_DEFAULT_REGION="$REGION"
STAGE="${STAGE:-prod}"
RUNTIME="${RUNTIME:-python3.12}"
LAMBDA_TIMEOUT="${LAMBDA_TIMEOUT:-29}"
WORK_DIR="${WORK_DIR:-$(mktemp -d -t deploy-ref.XXXXXX)}"
mkdir -p "$WORK_DIR"
CALL_LOG="$WORK_DIR/aws-calls.tsv"
UNSUPPORTED_LOG="$WORK_DIR/unsupported.txt"
OUTPUTS="$WORK_DIR/outputs.env"
: >"$CALL_LOG"; : >"$UNSUPPORTED_LOG"; : >"$OUTPUTS"

if [[ -z "$ENDPOINT" || "$ENDPOINT" == "aws" ]]; then
  EP_ARGS=()
  EMULATOR=0
  IAM_PROPAGATION_SLEEP="${IAM_PROPAGATION_SLEEP:-10}"
else
  EP_ARGS=(--endpoint-url "$ENDPOINT")
  EMULATOR=1
  IAM_PROPAGATION_SLEEP="${IAM_PROPAGATION_SLEEP:-0}"
fi

# --- helpers ------------------------------------------------------------------
# Every manual command goes through this wrapper: it adds --endpoint-url and logs
# one line per CLI process (time in ms, exit code, service + operation).
aws() {
  local t0=$EPOCHREALTIME rc=0
  command aws "${EP_ARGS[@]}" "$@" || rc=$?
  local t1=$EPOCHREALTIME
  local ms=$(( (${t1/./} - ${t0/./}) / 1000 ))
  printf '%d\t%d\t%s %s\t%s\n' "$ms" "$rc" "$1" "${2:-}" "$CURRENT_STEP" >>"$CALL_LOG"
  return $rc
}

unsupported() {  # the emulator (or the CLI) lacks the operation / data plane
  echo "UNSUPPORTED: $*" | tee -a "$UNSUPPORTED_LOG" >&2
}
gap() {  # the call works but the emulator returns incomplete / placeholder data
  echo "GAP: $*" | tee -a "$UNSUPPORTED_LOG" >&2
}

CURRENT_STEP=0
step() { CURRENT_STEP="${1%%.*}"; printf '\n=== %s ===\n' "$*" >&2; }
out() { printf '%s=%q\n' "$1" "$2" >>"$OUTPUTS"; printf '  %s=%s\n' "$1" "$2" >&2; }

SCRIPT_T0=$EPOCHREALTIME

TABLES=(conversations prompts usage websocket-connections)
# function-suffix | handler | memory
FUNCTIONS=(
  "conversation-api|handlers.api.conversation.handler|512"
  "prompt-crud|handlers.api.prompt.handler|512"
  "usage-handler|handlers.api.usage.handler|512"
  "websocket-connect|handlers.websocket.connect.handler|512"
  "websocket-disconnect|handlers.websocket.disconnect.handler|512"
  "websocket-message|handlers.websocket.message.handler|1024"
)
# REST resource -> function suffix
declare -A REST_ROUTES=([conversations]=conversation-api [prompts]=prompt-crud [usage]=usage-handler)
REST_ORDER=(conversations prompts usage)
# WebSocket route key -> function suffix
WS_ORDER=('$connect' '$disconnect' '$default')
declare -A WS_ROUTES=(['$connect']=websocket-connect ['$disconnect']=websocket-disconnect ['$default']=websocket-message)

# =============================================================================
step "1. DynamoDB tables"
# =============================================================================
for t in "${TABLES[@]}"; do
  case "$t" in
    conversations)
      attrs="AttributeName=userId,AttributeType=S AttributeName=conversationId,AttributeType=S"
      keys="AttributeName=userId,KeyType=HASH AttributeName=conversationId,KeyType=RANGE" ;;
    prompts)
      attrs="AttributeName=promptId,AttributeType=S"
      keys="AttributeName=promptId,KeyType=HASH" ;;
    usage)
      attrs="AttributeName=userId,AttributeType=S AttributeName=date,AttributeType=S"
      keys="AttributeName=userId,KeyType=HASH AttributeName=date,KeyType=RANGE" ;;
    websocket-connections)
      attrs="AttributeName=connectionId,AttributeType=S"
      keys="AttributeName=connectionId,KeyType=HASH" ;;
  esac
  # shellcheck disable=SC2086
  arn=$(aws dynamodb create-table \
    --table-name "$SERVICE-$t" \
    --attribute-definitions $attrs \
    --key-schema $keys \
    --billing-mode PAY_PER_REQUEST \
    --query TableDescription.TableArn --output text)
  out "TABLE_ARN_${t//-/_}" "$arn"
done

aws dynamodb wait table-exists --table-name "$SERVICE-websocket-connections"
aws dynamodb update-time-to-live \
  --table-name "$SERVICE-websocket-connections" \
  --time-to-live-specification "Enabled=true,AttributeName=ttl" \
  --query TimeToLiveSpecification.Enabled --output text >/dev/null

# =============================================================================
step "2. Lambda functions (+ IAM execution role)"
# =============================================================================
ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)
out ACCOUNT_ID "$ACCOUNT_ID"

ROLE_NAME="$SERVICE-lambda-role"
cat >"$WORK_DIR/trust-policy.json" <<'EOF'
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
  ]
}
EOF
cat >"$WORK_DIR/role-policy.json" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
      "Resource": ["arn:aws:dynamodb:$REGION:$ACCOUNT_ID:table/$SERVICE-*",
                   "arn:aws:dynamodb:$REGION:$ACCOUNT_ID:table/$SERVICE-*/index/*"]
    },
    {
      "Effect": "Allow",
      "Action": "execute-api:ManageConnections",
      "Resource": "arn:aws:execute-api:$REGION:$ACCOUNT_ID:*/*/POST/@connections/*"
    }
  ]
}
EOF
ROLE_ARN=$(aws iam create-role \
  --role-name "$ROLE_NAME" \
  --assume-role-policy-document "file://$WORK_DIR/trust-policy.json" \
  --query Role.Arn --output text)
out ROLE_ARN "$ROLE_ARN"
aws iam attach-role-policy \
  --role-name "$ROLE_NAME" \
  --policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
aws iam put-role-policy \
  --role-name "$ROLE_NAME" \
  --policy-name "$SERVICE-app-access" \
  --policy-document "file://$WORK_DIR/role-policy.json"
# Real IAM needs a few seconds before Lambda can assume a brand-new role.
if (( IAM_PROPAGATION_SLEEP > 0 )); then sleep "$IAM_PROPAGATION_SLEEP"; fi

ZIP="$WORK_DIR/deployment.zip"
rm -f "$ZIP"
(cd "$BACKEND_DIR" && zip -qr "$ZIP" handlers src lib utils -x '*__pycache__*' '*.pyc')

declare -A FN_ARN
for spec in "${FUNCTIONS[@]}"; do
  IFS='|' read -r fn handler mem <<<"$spec"
  FN_ARN[$fn]=$(aws lambda create-function \
    --function-name "$SERVICE-$fn" \
    --runtime "$RUNTIME" \
    --role "$ROLE_ARN" \
    --handler "$handler" \
    --timeout "$LAMBDA_TIMEOUT" \
    --memory-size "$mem" \
    --environment "Variables={SERVICE_NAME=$SERVICE,STAGE=$STAGE}" \
    --zip-file "fileb://$ZIP" \
    --query FunctionArn --output text)
  out "FN_ARN_${fn//-/_}" "${FN_ARN[$fn]}"
done

lambda_uri() { echo "arn:aws:apigateway:$REGION:lambda:path/2015-03-31/functions/$1/invocations"; }

# =============================================================================
step "3. REST API (API Gateway v1)"
# =============================================================================
REST_API_ID=$(aws apigateway create-rest-api \
  --name "$SERVICE-rest-api" \
  --endpoint-configuration types=REGIONAL \
  --query id --output text)
out REST_API_ID "$REST_API_ID"
ROOT_ID=$(aws apigateway get-resources --rest-api-id "$REST_API_ID" \
  --query "items[?path=='/'].id" --output text)

CORS_HEADERS="'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token'"
CORS_METHODS="'GET,POST,OPTIONS'"
CORS_ORIGIN="'*'"
CORS_METHOD_RESPONSE='{"method.response.header.Access-Control-Allow-Headers":false,"method.response.header.Access-Control-Allow-Methods":false,"method.response.header.Access-Control-Allow-Origin":false}'
CORS_INTEGRATION_RESPONSE=$(jq -cn --arg h "$CORS_HEADERS" --arg m "$CORS_METHODS" --arg o "$CORS_ORIGIN" \
  '{"method.response.header.Access-Control-Allow-Headers":$h,"method.response.header.Access-Control-Allow-Methods":$m,"method.response.header.Access-Control-Allow-Origin":$o}')

for res in "${REST_ORDER[@]}"; do
  fn="${REST_ROUTES[$res]}"
  RES_ID=$(aws apigateway create-resource \
    --rest-api-id "$REST_API_ID" --parent-id "$ROOT_ID" --path-part "$res" \
    --query id --output text)
  out "RESOURCE_ID_$res" "$RES_ID"

  for method in GET POST; do
    aws apigateway put-method \
      --rest-api-id "$REST_API_ID" --resource-id "$RES_ID" \
      --http-method "$method" --authorization-type NONE >/dev/null
    aws apigateway put-integration \
      --rest-api-id "$REST_API_ID" --resource-id "$RES_ID" \
      --http-method "$method" --type AWS_PROXY --integration-http-method POST \
      --uri "$(lambda_uri "${FN_ARN[$fn]}")" >/dev/null
  done

  # CORS preflight: OPTIONS + MOCK integration + response headers
  aws apigateway put-method \
    --rest-api-id "$REST_API_ID" --resource-id "$RES_ID" \
    --http-method OPTIONS --authorization-type NONE >/dev/null
  aws apigateway put-integration \
    --rest-api-id "$REST_API_ID" --resource-id "$RES_ID" \
    --http-method OPTIONS --type MOCK \
    --request-templates '{"application/json":"{\"statusCode\": 200}"}' >/dev/null
  aws apigateway put-method-response \
    --rest-api-id "$REST_API_ID" --resource-id "$RES_ID" \
    --http-method OPTIONS --status-code 200 \
    --response-parameters "$CORS_METHOD_RESPONSE" \
    --response-models '{"application/json":"Empty"}' >/dev/null
  aws apigateway put-integration-response \
    --rest-api-id "$REST_API_ID" --resource-id "$RES_ID" \
    --http-method OPTIONS --status-code 200 \
    --response-parameters "$CORS_INTEGRATION_RESPONSE" \
    --response-templates '{"application/json":""}' >/dev/null

  aws lambda add-permission \
    --function-name "$SERVICE-$fn" \
    --statement-id "apigateway-rest-$res" \
    --action lambda:InvokeFunction \
    --principal apigateway.amazonaws.com \
    --source-arn "arn:aws:execute-api:$REGION:$ACCOUNT_ID:$REST_API_ID/*/*/$res" >/dev/null
done

DEPLOYMENT_ID=$(aws apigateway create-deployment \
  --rest-api-id "$REST_API_ID" --stage-name "$STAGE" \
  --description "initial deployment" \
  --query id --output text)
out DEPLOYMENT_ID "$DEPLOYMENT_ID"
API_URL="https://$REST_API_ID.execute-api.$REGION.amazonaws.com/$STAGE"
out API_URL "$API_URL"

# =============================================================================
step "4. WebSocket API (API Gateway v2)"
# =============================================================================
WS_API_ID=$(aws apigatewayv2 create-api \
  --name "$SERVICE-websocket-api" \
  --protocol-type WEBSOCKET \
  --route-selection-expression '$request.body.action' \
  --query ApiId --output text)
out WS_API_ID "$WS_API_ID"

for route in "${WS_ORDER[@]}"; do
  fn="${WS_ROUTES[$route]}"
  INTEGRATION_ID=$(aws apigatewayv2 create-integration \
    --api-id "$WS_API_ID" \
    --integration-type AWS_PROXY \
    --integration-method POST \
    --integration-uri "$(lambda_uri "${FN_ARN[$fn]}")" \
    --query IntegrationId --output text)
  ROUTE_ID=$(aws apigatewayv2 create-route \
    --api-id "$WS_API_ID" \
    --route-key "$route" \
    --target "integrations/$INTEGRATION_ID" \
    --query RouteId --output text)
  out "WS_ROUTE_${route#\$}" "$ROUTE_ID -> integrations/$INTEGRATION_ID"
  aws lambda add-permission \
    --function-name "$SERVICE-$fn" \
    --statement-id "apigateway-ws-${route#\$}" \
    --action lambda:InvokeFunction \
    --principal apigateway.amazonaws.com \
    --source-arn "arn:aws:execute-api:$REGION:$ACCOUNT_ID:$WS_API_ID/*/$route" >/dev/null
done

aws apigatewayv2 create-stage --api-id "$WS_API_ID" --stage-name "$STAGE" \
  --query StageName --output text >/dev/null
WS_DEPLOYMENT_ID=$(aws apigatewayv2 create-deployment --api-id "$WS_API_ID" --stage-name "$STAGE" \
  --query DeploymentId --output text) \
  || { unsupported "apigatewayv2 create-deployment"; WS_DEPLOYMENT_ID=""; }
out WS_DEPLOYMENT_ID "$WS_DEPLOYMENT_ID"
WS_URL="wss://$WS_API_ID.execute-api.$REGION.amazonaws.com/$STAGE"
out WS_URL "$WS_URL"

# =============================================================================
step "5. Frontend (S3 website + CloudFront)"
# =============================================================================
BUCKET="$SERVICE-frontend"
aws s3 mb "s3://$BUCKET" --region "$REGION"
# Not in the manual, but required on real AWS since 2023-04 (new buckets block
# public policies by default, so the put-bucket-policy below would be denied).
aws s3api put-public-access-block --bucket "$BUCKET" \
  --public-access-block-configuration BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=false,RestrictPublicBuckets=false
aws s3 website "s3://$BUCKET" --index-document index.html --error-document error.html
cat >"$WORK_DIR/bucket-policy.json" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "PublicReadGetObject", "Effect": "Allow", "Principal": "*",
     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::$BUCKET/*"}
  ]
}
EOF
aws s3api put-bucket-policy --bucket "$BUCKET" --policy "file://$WORK_DIR/bucket-policy.json"

CALLER_REF="$SERVICE-frontend-$(date +%s)"
cat >"$WORK_DIR/distribution-config.json" <<EOF
{
  "CallerReference": "$CALLER_REF",
  "Comment": "$SERVICE frontend",
  "Enabled": true,
  "DefaultRootObject": "index.html",
  "PriceClass": "PriceClass_100",
  "Origins": {
    "Quantity": 1,
    "Items": [
      {"Id": "S3-$BUCKET", "DomainName": "$BUCKET.s3.amazonaws.com",
       "S3OriginConfig": {"OriginAccessIdentity": ""}}
    ]
  },
  "DefaultCacheBehavior": {
    "TargetOriginId": "S3-$BUCKET",
    "ViewerProtocolPolicy": "redirect-to-https",
    "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                       "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
    "Compress": true,
    "ForwardedValues": {"QueryString": false, "Cookies": {"Forward": "none"}},
    "TrustedSigners": {"Enabled": false, "Quantity": 0},
    "MinTTL": 0, "DefaultTTL": 86400, "MaxTTL": 31536000
  },
  "CustomErrorResponses": {
    "Quantity": 1,
    "Items": [{"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 0}]
  }
}
EOF
DIST_OUT=$(aws cloudfront create-distribution \
  --distribution-config "file://$WORK_DIR/distribution-config.json" \
  --query 'Distribution.[Id,DomainName]' --output text)
read -r DIST_ID DIST_DOMAIN <<<"$DIST_OUT"
out DIST_ID "$DIST_ID"
out DIST_DOMAIN "$DIST_DOMAIN"

# config.js is written into a staging copy so that FRONTEND_DIST_DIR stays pristine.
STAGING="$WORK_DIR/frontend-dist"
rm -rf "$STAGING"; mkdir -p "$STAGING"
cp -R "$FRONTEND_DIST_DIR/." "$STAGING/"
cat >"$STAGING/config.js" <<EOF
window.APP_CONFIG = {
  API_BASE_URL: "$API_URL",
  WS_URL: "$WS_URL"
};
EOF
aws s3 sync "$STAGING/" "s3://$BUCKET/" --delete --no-progress >&2
INVALIDATION_ID=$(aws cloudfront create-invalidation --distribution-id "$DIST_ID" --paths '/*' \
  --query Invalidation.Id --output text)
out INVALIDATION_ID "$INVALIDATION_ID"

# =============================================================================
step "6. Custom domain (Route 53 + ACM + API GW domain names + CloudFront aliases)"
# =============================================================================
HZ_ID=$(aws route53 create-hosted-zone \
  --name "$DOMAIN" \
  --caller-reference "$SERVICE-zone-$(date +%s)" \
  --query HostedZone.Id --output text)
HZ_ID="${HZ_ID#/hostedzone/}"
out HOSTED_ZONE_ID "$HZ_ID"

# The manual asks for DOMAIN + www; api./ws. are added as SANs because the API
# Gateway custom domains below must be covered by the certificate on real AWS.
CERT_ARN=$(aws acm request-certificate \
  --domain-name "$DOMAIN" \
  --subject-alternative-names "www.$DOMAIN" "api.$DOMAIN" "ws.$DOMAIN" \
  --validation-method DNS \
  --query CertificateArn --output text)
out CERT_ARN "$CERT_ARN"

# The validation records can take a few seconds to appear on real ACM.
VALIDATION=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  VALIDATION=$(aws acm describe-certificate --certificate-arn "$CERT_ARN" \
    --query 'Certificate.DomainValidationOptions[].ResourceRecord.[Name,Value]' --output text)
  [[ -n "$VALIDATION" && "$VALIDATION" != *None* ]] && break
  sleep 3
done
echo "$VALIDATION" | sort -u | jq -R -s '
  {Comment: "ACM DNS validation",
   Changes: [split("\n")[] | select(length > 0) | split("\t") |
     {Action: "UPSERT",
      ResourceRecordSet: {Name: .[0], Type: "CNAME", TTL: 300, ResourceRecords: [{Value: .[1]}]}}]}' \
  >"$WORK_DIR/acm-validation-records.json"
aws route53 change-resource-record-sets --hosted-zone-id "$HZ_ID" \
  --change-batch "file://$WORK_DIR/acm-validation-records.json" \
  --query ChangeInfo.Id --output text >/dev/null
# Real AWS: only completes once the registrar delegates DOMAIN to this zone.
# moto: completes on the first poll when MOTO_ACM_VALIDATION_WAIT=0 (see moto.sh).
aws acm wait certificate-validated --certificate-arn "$CERT_ARN" \
  || unsupported "acm wait certificate-validated (certificate not ISSUED)"

API_DOMAIN_OUT=$(aws apigateway create-domain-name \
  --domain-name "api.$DOMAIN" \
  --regional-certificate-arn "$CERT_ARN" \
  --endpoint-configuration types=REGIONAL \
  --security-policy TLS_1_2 \
  --query '[regionalDomainName,regionalHostedZoneId]' --output text)
read -r API_DOMAIN_TARGET API_DOMAIN_ZONE <<<"$API_DOMAIN_OUT"
out API_DOMAIN_TARGET "$API_DOMAIN_TARGET"
out API_DOMAIN_ZONE "$API_DOMAIN_ZONE"
aws apigateway create-base-path-mapping \
  --domain-name "api.$DOMAIN" --rest-api-id "$REST_API_ID" --stage "$STAGE" >/dev/null

WS_DOMAIN_OUT=$(aws apigatewayv2 create-domain-name \
  --domain-name "ws.$DOMAIN" \
  --domain-name-configurations "CertificateArn=$CERT_ARN,EndpointType=REGIONAL,SecurityPolicy=TLS_1_2" \
  --query 'DomainNameConfigurations[0].[ApiGatewayDomainName,HostedZoneId]' --output text)
read -r WS_DOMAIN_TARGET WS_DOMAIN_ZONE <<<"$WS_DOMAIN_OUT"
if [[ "$WS_DOMAIN_TARGET" == None || "$WS_DOMAIN_ZONE" == None ]]; then
  gap "apigatewayv2 create-domain-name returned no ApiGatewayDomainName/HostedZoneId (ws alias record gets 'None')"
fi
out WS_DOMAIN_TARGET "$WS_DOMAIN_TARGET"
out WS_DOMAIN_ZONE "$WS_DOMAIN_ZONE"
aws apigatewayv2 create-api-mapping \
  --domain-name "ws.$DOMAIN" --api-id "$WS_API_ID" --stage "$STAGE" \
  --query ApiMappingId --output text >/dev/null

CLOUDFRONT_ZONE_ID=Z2FDTNDATAQYW2   # fixed hosted zone id of every CloudFront distribution
alias_change() {  # name target zone
  jq -cn --arg n "$1" --arg t "$2" --arg z "$3" \
    '{Action: "UPSERT", ResourceRecordSet: {Name: $n, Type: "A",
      AliasTarget: {HostedZoneId: $z, DNSName: $t, EvaluateTargetHealth: false}}}'
}
jq -n --argjson a "$(alias_change "$DOMAIN" "$DIST_DOMAIN" "$CLOUDFRONT_ZONE_ID")" \
      --argjson b "$(alias_change "www.$DOMAIN" "$DIST_DOMAIN" "$CLOUDFRONT_ZONE_ID")" \
      '{Comment: "CloudFront aliases", Changes: [$a, $b]}' >"$WORK_DIR/cloudfront-alias-records.json"
aws route53 change-resource-record-sets --hosted-zone-id "$HZ_ID" \
  --change-batch "file://$WORK_DIR/cloudfront-alias-records.json" \
  --query ChangeInfo.Id --output text >/dev/null
jq -n --argjson a "$(alias_change "api.$DOMAIN" "$API_DOMAIN_TARGET" "$API_DOMAIN_ZONE")" \
      --argjson b "$(alias_change "ws.$DOMAIN" "$WS_DOMAIN_TARGET" "$WS_DOMAIN_ZONE")" \
      '{Comment: "API Gateway custom domains", Changes: [$a, $b]}' >"$WORK_DIR/api-alias-records.json"
aws route53 change-resource-record-sets --hosted-zone-id "$HZ_ID" \
  --change-batch "file://$WORK_DIR/api-alias-records.json" \
  --query ChangeInfo.Id --output text >/dev/null

# CloudFront: add aliases + ACM certificate (read-modify-write with the ETag).
aws cloudfront get-distribution-config --id "$DIST_ID" --output json >"$WORK_DIR/dist-config-current.json"
ETAG=$(jq -r .ETag "$WORK_DIR/dist-config-current.json")
jq --arg d "$DOMAIN" --arg c "$CERT_ARN" '.DistributionConfig
  | .Aliases = {Quantity: 2, Items: [$d, ("www." + $d)]}
  | .ViewerCertificate = {ACMCertificateArn: $c, SSLSupportMethod: "sni-only",
                          MinimumProtocolVersion: "TLSv1.2_2021", CloudFrontDefaultCertificate: false}' \
  "$WORK_DIR/dist-config-current.json" >"$WORK_DIR/dist-config-new.json"
aws cloudfront update-distribution --id "$DIST_ID" --if-match "$ETAG" \
  --distribution-config "file://$WORK_DIR/dist-config-new.json" \
  --query Distribution.Status --output text >/dev/null
out FRONTEND_URL "https://$DOMAIN"
out CUSTOM_API_URL "https://api.$DOMAIN"
out CUSTOM_WS_URL "wss://ws.$DOMAIN"

# =============================================================================
step "7. Stages (dev stage, stage variables, throttling)"
# =============================================================================
aws apigateway create-stage \
  --rest-api-id "$REST_API_ID" --stage-name dev --deployment-id "$DEPLOYMENT_ID" \
  --variables environment=development >/dev/null
for fn in conversation-api prompt-crud usage-handler; do
  aws lambda update-function-configuration \
    --function-name "$SERVICE-$fn" \
    --environment "Variables={SERVICE_NAME=$SERVICE,STAGE=dev}" \
    --query LastUpdateStatus --output text >/dev/null
done
aws apigateway update-stage \
  --rest-api-id "$REST_API_ID" --stage-name "$STAGE" \
  --patch-operations op=replace,path=/variables/environment,value=production >/dev/null
aws apigateway update-stage \
  --rest-api-id "$REST_API_ID" --stage-name "$STAGE" \
  --patch-operations 'op=replace,path=/*/*/throttling/rateLimit,value=100' \
                     'op=replace,path=/*/*/throttling/burstLimit,value=200' >/dev/null
aws apigatewayv2 update-stage \
  --api-id "$WS_API_ID" --stage-name "$STAGE" \
  --default-route-settings ThrottlingBurstLimit=200,ThrottlingRateLimit=100 >/dev/null \
  || unsupported "apigatewayv2 update-stage"

# =============================================================================
step "8. Verify (REST call, WebSocket handshake, logs, metrics)"
# =============================================================================
if (( EMULATOR )); then
  # moto serves deployed REST APIs under this path instead of *.execute-api.*
  REST_TEST_URL="$ENDPOINT/restapis/$REST_API_ID/$STAGE/_user_request_/conversations"
  WS_TEST_URL="${ENDPOINT}/"   # moto has no WebSocket data plane; see MOTO-COVERAGE.md
  WS_HOST_HEADER=(-H "Host: $WS_API_ID.execute-api.$REGION.amazonaws.com")
else
  REST_TEST_URL="$API_URL/conversations"
  WS_TEST_URL="https://$WS_API_ID.execute-api.$REGION.amazonaws.com/$STAGE"
  WS_HOST_HEADER=()
fi
REST_STATUS=$(curl -sS -m 30 -o "$WORK_DIR/rest-response.txt" -w '%{http_code}' "$REST_TEST_URL" || echo 000)
out REST_TEST_URL "$REST_TEST_URL"
out REST_STATUS "$REST_STATUS"
if [[ "$REST_STATUS" != 200 ]]; then
  unsupported "REST invoke GET /conversations -> HTTP $REST_STATUS ($(head -c 200 "$WORK_DIR/rest-response.txt" | tr '\n' ' '))"
fi

# WebSocket opening handshake by hand (no wscat on the box): expect HTTP 101.
WS_STATUS=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' --http1.1 "${WS_HOST_HEADER[@]}" \
  -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$WS_TEST_URL" || true)
out WS_HANDSHAKE_STATUS "$WS_STATUS"
if [[ "$WS_STATUS" != 101 ]]; then
  unsupported "WebSocket connect $WS_URL -> HTTP $WS_STATUS"
fi

LOG_GROUP="/aws/lambda/$SERVICE-conversation-api"
aws logs filter-log-events --log-group-name "$LOG_GROUP" \
  --start-time $(( ($(date +%s) - 3600) * 1000 )) --limit 20 \
  --query 'events[].message' --output text \
  || gap "logs filter-log-events $LOG_GROUP (ResourceNotFoundException: no function ever ran, so the group was never created)"
aws logs tail "$LOG_GROUP" --since 1h \
  || unsupported "logs tail (awscli v2-only command; not in awscli v1)"
INVOCATIONS=$(aws cloudwatch get-metric-statistics \
  --namespace AWS/Lambda --metric-name Invocations \
  --dimensions "Name=FunctionName,Value=$SERVICE-conversation-api" \
  --start-time "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
  --end-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --period 300 --statistics Sum \
  --query 'Datapoints[].Sum' --output text) \
  || unsupported "cloudwatch get-metric-statistics"
out LAMBDA_INVOCATIONS_1H "${INVOCATIONS:-}"
if [[ -z "${INVOCATIONS:-}" ]]; then
  gap "cloudwatch get-metric-statistics AWS/Lambda Invocations: no datapoints (nothing emits Lambda metrics)"
fi

# --- summary ----------------------------------------------------------------------
SCRIPT_T1=$EPOCHREALTIME
TOTAL_MS=$(( (${SCRIPT_T1/./} - ${SCRIPT_T0/./}) / 1000 ))
CALLS=$(wc -l <"$CALL_LOG")
AWS_MS=$(awk -F'\t' '{s+=$1} END {print s+0}' "$CALL_LOG")
out TOTAL_MS "$TOTAL_MS"
out AWS_CALLS "$CALLS"
out AWS_CALL_MS "$AWS_MS"
printf '\nDONE in %d ms: %d aws CLI invocations (%d ms inside aws); %d UNSUPPORTED, %d GAP (see %s). Work dir: %s\n' \
  "$TOTAL_MS" "$CALLS" "$AWS_MS" "$(grep -c '^UNSUPPORTED' "$UNSUPPORTED_LOG" || true)" \
  "$(grep -c '^GAP' "$UNSUPPORTED_LOG" || true)" "$UNSUPPORTED_LOG" "$WORK_DIR" >&2
