// API Gateway's mapping templates, run by Apache Velocity 1.7 (the engine API Gateway runs them with), with
// the objects API Gateway gives them: $input, $stageVariables, $context (with responseOverride) and $util.
// The integration tests start it once (`java -cp VELOCITY_JARS MappingTemplate.java`) and send it requests
// on stdin, one field a line, every key and value base64-encoded:
//   template VALUE | header KEY VALUE | query KEY VALUE | path KEY VALUE | stage KEY VALUE
//   context KEY VALUE | body VALUE | run
// `run` evaluates and answers one JSON line: {"ok":true,"body":…,"status":…,"headers":{…}} or
// {"ok":false,"error":…} when the template does not parse or fails.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.StringWriter;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;
import org.apache.velocity.runtime.RuntimeConstants;

public class MappingTemplate {
    /** `$input`: the method request. */
    public static class Input {
        final Map<String, String> path = new LinkedHashMap<>();
        final Map<String, String> querystring = new LinkedHashMap<>();
        final Map<String, String> header = new LinkedHashMap<>();
        String body = "";

        /** Every parameter: {path, querystring, header}. */
        public Map<String, Map<String, String>> params() {
            Map<String, Map<String, String>> all = new LinkedHashMap<>();
            all.put("path", path);
            all.put("querystring", querystring);
            all.put("header", header);
            return all;
        }

        /** One parameter, searched in path, query string, then headers, as API Gateway documents. */
        public String params(String name) {
            if (path.containsKey(name)) return path.get(name);
            if (querystring.containsKey(name)) return querystring.get(name);
            return header.get(name);
        }

        public String getBody() {
            return body;
        }

        /** Only the root path: a template that needs more must not pass here by accident. */
        public String json(String jsonPath) {
            if (!"$".equals(jsonPath)) throw new UnsupportedOperationException("$input.json(" + jsonPath + ") is not modelled");
            return body.isEmpty() ? "{}" : body;
        }

        public String path(String jsonPath) {
            throw new UnsupportedOperationException("$input.path(" + jsonPath + ") is not modelled");
        }
    }

    /** `$util`, as API Gateway's developer guide lists it (parseJson is not modelled: it fails loudly). */
    public static class Util {
        public String escapeJavaScript(String s) {
            return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("'", "\\'")
                    .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        }

        public String urlEncode(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }

        public String urlDecode(String s) {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        }

        public String base64Encode(String s) {
            return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
        }

        public String base64Decode(String s) {
            return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
        }

        public Object parseJson(String s) {
            throw new UnsupportedOperationException("$util.parseJson is not modelled");
        }
    }

    static String decode(String field) {
        return new String(Base64.getDecoder().decode(field), StandardCharsets.UTF_8);
    }

    static String quote(Object value) {
        if (value == null) return "null";
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toString().toCharArray()) {
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
            }
        }
        return out.append('"').toString();
    }

    static String evaluate(VelocityEngine engine, String template, Input input, Map<String, String> stage,
            Map<String, Object> context) {
        Map<String, Object> override = new HashMap<>();
        Map<String, Object> headers = new LinkedHashMap<>();
        override.put("header", headers);
        context.put("responseOverride", override);
        VelocityContext vars = new VelocityContext();
        vars.put("input", input);
        vars.put("stageVariables", stage);
        vars.put("context", context);
        vars.put("util", new Util());
        StringWriter body = new StringWriter();
        try {
            engine.evaluate(vars, body, "mapping-template", template);
        } catch (Exception e) {
            return "{\"ok\":false,\"error\":" + quote(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}";
        }
        StringBuilder json = new StringBuilder("{\"ok\":true,\"body\":").append(quote(body.toString()));
        json.append(",\"status\":").append(quote(override.get("status"))).append(",\"headers\":{");
        String comma = "";
        for (Map.Entry<String, Object> h : headers.entrySet()) {
            json.append(comma).append(quote(h.getKey())).append(':').append(quote(h.getValue()));
            comma = ",";
        }
        return json.append("}}").toString();
    }

    public static void main(String[] args) throws Exception {
        VelocityEngine engine = new VelocityEngine();
        engine.setProperty(RuntimeConstants.RUNTIME_LOG_LOGSYSTEM_CLASS, "org.apache.velocity.runtime.log.NullLogChute");
        engine.init();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String template = "";
        Input input = new Input();
        Map<String, String> stage = new HashMap<>();
        Map<String, Object> context = new HashMap<>();
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "template": template = f.length > 1 ? decode(f[1]) : ""; break;
                case "header": input.header.put(decode(f[1]), decode(f[2])); break;
                case "query": input.querystring.put(decode(f[1]), decode(f[2])); break;
                case "path": input.path.put(decode(f[1]), decode(f[2])); break;
                case "stage": stage.put(decode(f[1]), decode(f[2])); break;
                case "context": context.put(decode(f[1]), decode(f[2])); break;
                case "body": input.body = f.length > 1 ? decode(f[1]) : ""; break;
                case "run":
                    System.out.println(evaluate(engine, template, input, stage, context));
                    System.out.flush();
                    template = "";
                    input = new Input();
                    stage = new HashMap<>();
                    context = new HashMap<>();
                    break;
                default:
                    System.out.println("{\"ok\":false,\"error\":" + quote("unknown field " + f[0]) + "}");
                    System.out.flush();
            }
        }
    }
}
