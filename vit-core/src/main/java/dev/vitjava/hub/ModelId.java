package dev.vitjava.hub;

import dev.vitjava.VitException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model on the Hugging Face Hub, from the spellings people paste: {@code org/name}, timm's
 * {@code hf-hub:org/name[@revision]}, a page or file URL ({@code https://huggingface.co/org/name[/tree/rev]}), or a
 * timm model name ({@code vit_base_patch16_224[.tag]}) looked up in the bundled table of timm's ViTs.
 *
 * @param repo     the repository id, {@code org/name}
 * @param revision the revision the spelling named, or null for the caller's default
 */
public record ModelId(String repo, String revision) {

    private static final String HF_HUB = "hf-hub:";
    private static final List<String> HUB_HOSTS = List.of("huggingface.co", "www.huggingface.co", "hf.co");

    /**
     * The hub model {@code text} names, or empty when it is no hub spelling (a local path, say).
     *
     * @param endpoint the hub's address ({@code HF_ENDPOINT}), whose URLs are accepted besides huggingface.co's
     */
    public static Optional<ModelId> parse(String text, String endpoint) {
        if (text.startsWith(HF_HUB)) {
            String id = text.substring(HF_HUB.length());
            int at = id.indexOf('@');
            String repo = at < 0 ? id : id.substring(0, at);
            if (!Hub.isRepoId(repo) || at == id.length() - 1) {
                throw new VitException(text + ": not a hub id (expected hf-hub:org/name or hf-hub:org/name@revision)");
            }
            return Optional.of(timmDefault(repo, at < 0 ? null : id.substring(at + 1)));
        }
        if (text.startsWith("https://") || text.startsWith("http://")) {
            return Optional.of(fromUrl(text, endpoint));
        }
        if (Hub.isRepoId(text)) {
            return Optional.of(timmDefault(text, null));
        }
        String repo = TimmTable.REPOS.get(text);
        return repo == null ? Optional.empty() : Optional.of(new ModelId(repo, null));
    }

    /** Whether {@code text} looks like a timm model name ({@code vit_...}), for a helpful error when it is unknown. */
    public static boolean looksLikeTimmName(String text) {
        return text.matches("(vit|deit|eva|beit)[a-z0-9_]*(\\.[a-z0-9_]+)?");
    }

    /** timm's name for a model of the bundled table, e.g. for error messages. */
    public static String exampleTimmName() {
        return TimmTable.REPOS.keySet().iterator().next();
    }

    /** {@code timm/vit_base_patch16_224} (no tag: no such repository) is timm's default tag of that model. */
    private static ModelId timmDefault(String repo, String revision) {
        if (repo.startsWith("timm/") && !repo.contains(".")) {
            String mapped = TimmTable.REPOS.get(repo.substring("timm/".length()));
            if (mapped != null) {
                return new ModelId(mapped, revision);
            }
        }
        return new ModelId(repo, revision);
    }

    private static ModelId fromUrl(String text, String endpoint) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new VitException(text + ": not a valid URL (" + e.getReason() + ")");
        }
        String host = uri.getHost() == null ? "" : uri.getHost();
        URI hub = URI.create(endpoint);
        boolean known = HUB_HOSTS.contains(host) || (host.equals(hub.getHost()) && uri.getPort() == hub.getPort());
        // split before decoding: a revision such as refs/pr/3 comes as one segment, refs%2Fpr%2F3
        String[] parts = uri.getRawPath() == null ? new String[0] : uri.getRawPath().replaceAll("^/+|/+$", "")
                .split("/+");
        for (int i = 0; i < parts.length; i++) {
            parts[i] = URLDecoder.decode(parts[i], StandardCharsets.UTF_8);
        }
        if (!known || parts.length < 2 || parts[0].equals("datasets") || parts[0].equals("spaces")) {
            throw new VitException(text + ": not a Hugging Face model URL (expected https://huggingface.co/org/name)");
        }
        String repo = parts[0] + "/" + parts[1];
        if (!Hub.isRepoId(repo)) {
            throw new VitException(text + ": '" + repo + "' is not a hub model id");
        }
        boolean withRevision = parts.length >= 4 && List.of("tree", "resolve", "blob").contains(parts[2]);
        return new ModelId(repo, withRevision ? parts[3] : null);
    }

    /** The bundled table (timm name with tag, and without it for the default tag) to hub repositories. */
    private static final class TimmTable {
        static final Map<String, String> REPOS = load();

        private static Map<String, String> load() {
            Map<String, String> repos = new LinkedHashMap<>();
            try (var in = ModelId.class.getResourceAsStream("timm-vit-models.tsv");
                 var lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    if (line.isBlank() || line.startsWith("#")) {
                        continue;
                    }
                    String[] cols = line.split("\t");
                    repos.put(cols[0], cols[1]);
                    repos.putIfAbsent(cols[0].substring(0, cols[0].indexOf('.')), cols[1]);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return repos;
        }
    }
}
