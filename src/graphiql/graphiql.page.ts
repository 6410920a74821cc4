/** What the page hands to GraphiQL; read by the boot script from a JSON block, never executed. */
export interface GraphiQLPageConfig {
  readonly endpoint: string;
  readonly query: string;
  readonly variables: string;
  readonly headers: string;
}

/**
 * Runs in the browser after React, ReactDOM and GraphiQL's UMD builds. Served as a file rather
 * than inline so the page's Content-Security-Policy can forbid inline scripts.
 */
export const BOOT_SCRIPT = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint });
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

export function renderPage(config: GraphiQLPageConfig, assets: { styles: string[]; scripts: string[] }): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <link rel="icon" href="data:,">
    <title>Profile service · GraphiQL</title>
${assets.styles.map((href) => `    <link rel="stylesheet" href="${href}">`).join('\n')}
    <style>${PAGE_STYLE}</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="application/json" id="graphiql-config">${jsonForScriptBlock(config)}</script>
${assets.scripts.map((src) => `    <script src="${src}"></script>`).join('\n')}
  </body>
</html>
`;
}
