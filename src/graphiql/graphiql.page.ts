/** What the page hands to GraphiQL; read by the boot script from a JSON block, never executed. */
export interface GraphiQLPageConfig {
  readonly endpoint: string;
  readonly query: string;
  readonly variables: string;
  readonly headers: string;
}

/**
 * Runs in the browser after React, ReactDOM, graphql-ws's client and GraphiQL's UMD builds. Served
 * as a file rather than inline so the page's Content-Security-Policy can forbid inline scripts.
 *
 * Queries and mutations go over HTTP through GraphiQL's own fetcher. Subscriptions go over
 * graphql-ws on the same path, with the Authorization from the Headers tab in the connection_init
 * payload: one lazy client per distinct Authorization. The schema GraphiQL introspects for its docs
 * and completion leaves out what federation adds for a gateway; the API itself still answers it.
 */
export const BOOT_SCRIPT = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var graphql = GraphiQL.GraphQL;
  var overHttp = GraphiQL.createFetcher({ url: config.endpoint });

  var socketUrl = new URL(config.endpoint, location.href);
  socketUrl.protocol = socketUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  var socketClients = new Map();

  // Federation's names: the link and federation specs' namespaced types and directives, the
  // imported @key, and the subgraph's entry points for a gateway.
  var HIDDEN_TYPE = /^(_Any|_Entity|_Service|link__.*|federation__.*)$/;
  var HIDDEN_DIRECTIVE = /^(link|key|federation__.*)$/;
  var HIDDEN_QUERY_FIELD = /^(_service|_entities)$/;

  function withoutFederation(result) {
    var schema = result && result.data && result.data.__schema;
    if (!schema || !Array.isArray(schema.types)) return result;
    var queryName = schema.queryType && schema.queryType.name;
    var types = schema.types
      .filter(function (type) { return !HIDDEN_TYPE.test(type.name); })
      .map(function (type) {
        if (type.name !== queryName || !Array.isArray(type.fields)) return type;
        var fields = type.fields.filter(function (field) { return !HIDDEN_QUERY_FIELD.test(field.name); });
        return Object.assign({}, type, { fields: fields });
      });
    var directives = (schema.directives || []).filter(function (directive) {
      return !HIDDEN_DIRECTIVE.test(directive.name);
    });
    var filtered = Object.assign({}, schema, { types: types, directives: directives });
    return Object.assign({}, result, { data: Object.assign({}, result.data, { __schema: filtered }) });
  }

  /**
   * The operation to run, read from the query text GraphiQL sends. GraphiQL's own documentAST and
   * operationName trail the editor by a debounce, so text pasted and run at once comes with the
   * previous document's: a name the text does not define gives way to the text's only operation.
   */
  function resolve(params, options) {
    var document;
    try {
      document = graphql.parse(params.query);
    } catch (error) {
      return { params: params, options: options };
    }
    var operation = graphql.getOperationAST(document, params.operationName || undefined);
    if (!operation && params.operationName) {
      operation = graphql.getOperationAST(document);
      if (operation) params = Object.assign({}, params, { operationName: operation.name ? operation.name.value : undefined });
    }
    return { params: params, options: Object.assign({}, options, { documentAST: document }), operation: operation };
  }

  function authorizationIn(headers) {
    var name = Object.keys(headers || {}).find(function (key) { return key.toLowerCase() === 'authorization'; });
    return name === undefined ? undefined : String(headers[name]);
  }

  function socketClient(authorization) {
    var client = socketClients.get(authorization);
    if (client === undefined) {
      client = graphqlWs.createClient({
        url: socketUrl.href,
        lazy: true,
        // Fail at once and say why (a refused token closes with 4403) rather than retry quietly.
        retryAttempts: 0,
        connectionParams: authorization === undefined ? {} : { authorization: authorization },
      });
      socketClients.set(authorization, client);
    }
    return client;
  }

  /** GraphiQL prints plain objects as they are, and Errors with their stack. */
  function socketError(error) {
    if (Array.isArray(error)) return error;
    if (error && typeof error.code === 'number') {
      var reason = error.reason ? ' ' + error.reason : '';
      return { message: 'The WebSocket closed: ' + error.code + reason };
    }
    if (error instanceof Error) return { message: error.message };
    return { message: 'The WebSocket failed; is the server running?' };
  }

  function overSocket(params, options) {
    var client = socketClient(authorizationIn(options && options.headers));
    return {
      subscribe: function (observer) {
        var unsubscribe = client.subscribe(params, {
          next: function (value) { observer.next(value); },
          error: function (error) { observer.error(socketError(error)); },
          complete: function () { observer.complete(); },
        });
        return { unsubscribe: unsubscribe };
      },
    };
  }

  function fetcher(params, options) {
    // GraphiQL's own schema request is the one without a document from the editor.
    if (params.operationName === 'IntrospectionQuery' && !(options && options.documentAST)) {
      return Promise.resolve(overHttp(params, options)).then(withoutFederation);
    }
    var run = resolve(params, options);
    if (run.operation && run.operation.operation === 'subscription') return overSocket(run.params, run.options);
    return overHttp(run.params, run.options);
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.query,
      variables: config.variables,
      headers: config.headers,
      defaultHeaders: config.headers,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();
`;

export const PAGE_STYLE = 'html, body, #graphiql { height: 100%; margin: 0; }';

const DEVELOPMENT_INTRO = `# Headers tab: a development token for demo_alice.
# Run it (Ctrl+Enter): \`me\` is demo_alice and
# \`users(ids:)\` reads the IDs in the Variables tab.`;

const TOKEN_INTRO = `# Put your bearer token in the Headers tab, then run
# it (Ctrl+Enter): \`users(ids:)\` reads the IDs in the
# Variables tab.`;

const EXAMPLE_OPERATION = `
query Example($ids: [ID!]!) {
  me {
    userID
    nick
    selfSignature
  }
  users(ids: $ids) {
    userID
    nick
    gender
    location
    selfSignature
  }
}
`;

export function examplePageConfig(
  endpoint: string,
  options: { developmentToken?: string; exampleUserIDs: readonly string[] },
): GraphiQLPageConfig {
  const { developmentToken } = options;
  return {
    endpoint,
    query: `${developmentToken === undefined ? TOKEN_INTRO : DEVELOPMENT_INTRO}\n${EXAMPLE_OPERATION}`,
    variables: JSON.stringify({ ids: options.exampleUserIDs }, null, 2),
    headers: JSON.stringify({ Authorization: `Bearer ${developmentToken ?? '<token>'}` }, null, 2),
  };
}

/** Inside a `<script type="application/json">` block nothing may close the element or open a comment. */
function jsonForScriptBlock(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The start of both pages, up to and including `</head>`. */
function pageHead(title: string, extra = ''): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <link rel="icon" href="data:,">
    <title>${title}</title>
${extra}  </head>`;
}

export function renderPage(config: GraphiQLPageConfig, assets: { styles: string[]; scripts: string[] }): string {
  const styles = assets.styles.map((href) => `    <link rel="stylesheet" href="${href}">\n`).join('');
  return `${pageHead('Profile service · GraphiQL', `${styles}    <style>${PAGE_STYLE}</style>\n`)}
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="application/json" id="graphiql-config">${jsonForScriptBlock(config)}</script>
${assets.scripts.map((src) => `    <script src="${src}"></script>`).join('\n')}
  </body>
</html>
`;
}

/** What a browser gets on the endpoint while GraphiQL is off: a static page, no scripts. */
export function renderOffPage(endpoint: string): string {
  return `${pageHead('Profile service · GraphiQL is off')}
  <body>
    <h1>GraphiQL is off on this server</h1>
    <p>This is the profile service's GraphQL endpoint, <code>${endpoint}</code>, without its in-browser IDE.</p>
    <p>To turn GraphiQL on, start the server with <code>GRAPHIQL=true</code> (and <code>INTROSPECTION=true</code>
      for its docs and completion). Both are off by default in production.</p>
    <p>To call the API, POST JSON to this URL with a bearer token:</p>
    <pre>curl -X POST https://&lt;host&gt;${endpoint} \\
  -H 'content-type: application/json' \\
  -H 'authorization: Bearer &lt;token&gt;' \\
  -d '{"query": "{ me { userID nick } }"}'</pre>
    <p>Subscriptions use the graphql-ws protocol (<code>graphql-transport-ws</code>) on the same path, with
      <code>{"authorization": "Bearer &lt;token&gt;"}</code> as the <code>connection_init</code> payload.</p>
  </body>
</html>
`;
}
