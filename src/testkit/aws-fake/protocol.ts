/**
 * The four AWS wire protocols the plugin's SDK clients speak, reduced to what a loopback fake
 * needs: how to find the action in a request and how to render an error the real SDK will
 * deserialize into the right exception name. Shapes were checked against the SDK's
 * deserializers (@aws-sdk/client-* 3.1169, their `de_*` error parsers).
 */
export type AwsProtocol =
  /** EC2 query: form body, XML responses, errors as <Response><Errors><Error>. */
  | "ec2"
  /** awsQuery (IAM, STS, Auto Scaling): form body, XML, errors as <ErrorResponse><Error>. */
  | "query"
  /** awsJson1_1 (Organizations): X-Amz-Target header, JSON body, errors with __type. */
  | "json"
  /** restJson1 (EKS): REST paths, JSON, error type in x-amzn-errortype. */
  | "rest-json";

export interface RenderedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

let requestCounter = 0;
export function nextRequestId(): string {
  requestCounter += 1;
  return `00000000-0000-4000-8000-${requestCounter.toString(16).padStart(12, "0")}`;
}

export function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : c === "'" ? "&apos;" : "&quot;",
  );
}

export function renderError(
  protocol: AwsProtocol,
  status: number,
  code: string,
  message: string,
  /** Members of the error shape beside the message (JSON protocols only), e.g. Organizations' Reason. */
  fields: Record<string, string> = {},
): RenderedResponse {
  const requestId = nextRequestId();
  switch (protocol) {
    case "ec2":
      return {
        status,
        headers: { "content-type": "text/xml;charset=UTF-8" },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      };
    case "query":
      return {
        status,
        headers: { "content-type": "text/xml" },
        body: `<ErrorResponse><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    case "json":
      return {
        status,
        headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId },
        body: JSON.stringify({ __type: code, message, ...fields }),
      };
    case "rest-json":
      return {
        status,
        headers: {
          "content-type": "application/json",
          "x-amzn-errortype": code,
          "x-amzn-requestid": requestId,
        },
        body: JSON.stringify({ message, ...fields }),
      };
  }
}

/** The throttling answer each protocol's real service gives, so the SDK classifies it as throttling. */
export function renderThrottle(protocol: AwsProtocol): RenderedResponse {
  switch (protocol) {
    case "ec2":
      return renderError("ec2", 503, "RequestLimitExceeded", "Request limit exceeded.");
    case "query":
      return renderError("query", 400, "Throttling", "Rate exceeded");
    case "json":
      return renderError("json", 400, "TooManyRequestsException", "Rate exceeded");
    case "rest-json":
      return renderError("rest-json", 429, "ThrottlingException", "Rate exceeded");
  }
}

export function xmlResponse(action: string, namespace: string, inner: string): RenderedResponse {
  return {
    status: 200,
    headers: { "content-type": "text/xml;charset=UTF-8" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${namespace}">${inner}<ResponseMetadata><RequestId>${nextRequestId()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

export function jsonResponse(value: unknown, contentType = "application/x-amz-json-1.1"): RenderedResponse {
  return { status: 200, headers: { "content-type": contentType }, body: JSON.stringify(value) };
}

/** A service fake throws this to answer with a modelled AWS error. */
export class FakeAwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}
