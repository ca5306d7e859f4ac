"""The site gateway's transport: MQTT 5 request/response between printfarm and a site's gateway (GATEWAY_SCHEME)."""
