-- protocol.rest-xml: not implemented yet; build, parse and parse_error raise UnsupportedProtocol.
return require("luaws.sdk.protocol").unsupported("rest-xml")
