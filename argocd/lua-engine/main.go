// argocd-lua-test runs resource customizations in Argo CD's own Lua engine: the package
// github.com/argoproj/argo-cd/v3/util/lua that the application controller (health) and the API
// server (resource actions) run, on gopher-lua with Argo CD's library set-up (base, package,
// table and a safe os; string and math only with useOpenLibs).
//
// It reads the test files of Argo CD's resource_customizations layout exactly as Argo CD's
// util/lua/health_test.go and custom_actions_test.go do (health_test.yaml: tests[].inputPath and
// healthStatus; actions/action_test.yaml: discoveryTests[] and actionTests[]) and prints one JSON
// report on stdout; the exit status is 1 when any case fails.
//
// The scripts come either from the files (-root) or from an argocd-cm ConfigMap (-argocd-cm),
// loaded the way `argocd admin settings resource-overrides --argocd-cm-path` loads one: Argo CD's
// settings manager over an in-memory clientset holding that ConfigMap, so the keys
// resource.customizations.health.<group>_<Kind> and .actions.<group>_<Kind> are parsed by Argo CD.
//
// -open-libs sets what Argo CD's useOpenLibs does: true is how Argo CD's own tests run health
// scripts (and built-in scripts run in production); false is what an argocd-cm health script gets
// by default and what every resource action gets in the API server.
//
// Built by build.sh from the Go module proxy at the version in VERSION; not part of any image.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/argoproj/gitops-engine/pkg/diff"
	"github.com/argoproj/gitops-engine/pkg/health"
	jsonpatch "github.com/evanphx/json-patch"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	appsv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

// The test-file formats, as in Argo CD's util/lua tests.
type healthTests struct {
	Tests []struct {
		InputPath    string              `yaml:"inputPath"`
		HealthStatus health.HealthStatus `yaml:"healthStatus"`
	} `yaml:"tests"`
}

type actionTests struct {
	DiscoveryTests []struct {
		InputPath string                  `yaml:"inputPath"`
		Result    []appsv1.ResourceAction `yaml:"result"`
	} `yaml:"discoveryTests"`
	ActionTests []struct {
		Action               string            `yaml:"action"`
		InputPath            string            `yaml:"inputPath"`
		ExpectedOutputPath   string            `yaml:"expectedOutputPath"`
		ExpectedErrorMessage string            `yaml:"expectedErrorMessage"`
		Parameters           map[string]string `yaml:"parameters"`
	} `yaml:"actionTests"`
}

type result struct {
	// health | discovery | action
	Suite string `json:"suite"`
	// <group>/<Kind>, the override key
	Key   string `json:"key"`
	Input string `json:"input"`
	// action tests: the action's name
	Action string `json:"action,omitempty"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Want   any    `json:"want,omitempty"`
	Got    any    `json:"got,omitempty"`
	// action tests: the JSON merge patch the API server would send (Argo CD's patchResource)
	Patch json.RawMessage `json:"patch,omitempty"`
}

type report struct {
	Engine   map[string]string `json:"engine"`
	Source   string            `json:"source"`
	OpenLibs bool              `json:"openLibs"`
	Results  []result          `json:"results"`
}

func main() {
	root := flag.String("root", "", "resource_customizations folder (Argo CD's layout: <group>/<Kind>/health.lua, …)")
	argocdCM := flag.String("argocd-cm", "", "argocd-cm ConfigMap YAML: run its scripts instead of the files' (the test files still come from -root)")
	openLibs := flag.Bool("open-libs", false, "open Lua's standard libraries (Argo CD's useOpenLibs)")
	action := flag.String("action", "", "run this one action on -object and print the merge patch the API server would send, instead of the tests")
	object := flag.String("object", "", "with -action: the object (YAML or JSON)")
	flag.Parse()
	// Argo CD's settings manager logs its informers at info level: not this program's output.
	log.SetLevel(log.WarnLevel)
	if *root == "" || (*action != "") != (*object != "") {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua-test -root <resource_customizations> [-argocd-cm <argocd-cm.yaml>] [-open-libs] [-action <name> -object <file>]")
		os.Exit(2)
	}
	keys, err := customizationKeys(*root)
	fail(err)
	var overrides map[string]appsv1.ResourceOverride
	source := "files"
	if *argocdCM != "" {
		overrides, err = overridesFromConfigMap(*argocdCM, *openLibs)
		source = "argocd-cm"
	} else {
		overrides, err = overridesFromFiles(*root, keys, *openLibs)
	}
	fail(err)
	if *action != "" {
		fail(runAction(overrides, *openLibs, *action, *object))
		return
	}
	rep := report{Engine: engineVersions(), Source: source, OpenLibs: *openLibs, Results: []result{}}
	for _, key := range keys {
		dir := filepath.Join(*root, filepath.FromSlash(key))
		rep.Results = append(rep.Results, runHealthTests(dir, key, overrides, *openLibs)...)
		rep.Results = append(rep.Results, runActionTests(dir, key, overrides, *openLibs)...)
	}
	out, err := json.MarshalIndent(rep, "", "  ")
	fail(err)
	fmt.Println(string(out))
	for _, r := range rep.Results {
		if !r.OK {
			os.Exit(1)
		}
	}
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "argocd-lua-test:", err)
		os.Exit(2)
	}
}

func engineVersions() map[string]string {
	versions := map[string]string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		versions["go"] = info.GoVersion
		for _, dep := range info.Deps {
			switch dep.Path {
			case "github.com/argoproj/argo-cd/v3", "github.com/argoproj/gitops-engine", "github.com/yuin/gopher-lua":
				versions[dep.Path] = dep.Version
			}
		}
	}
	return versions
}

// customizationKeys lists <group>/<Kind> for every folder under root holding a health.lua or an
// actions/ folder.
func customizationKeys(root string) ([]string, error) {
	seen := map[string]bool{}
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		var dir string
		switch {
		case !info.IsDir() && info.Name() == "health.lua":
			dir = filepath.Dir(path)
		case info.IsDir() && info.Name() == "actions":
			dir = filepath.Dir(path)
		default:
			return nil
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return err
		}
		seen[filepath.ToSlash(rel)] = true
		return nil
	})
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, err
}

// overridesFromFiles builds what argocd-cm would carry from the files: health.lua, and for the
// actions discovery.lua plus one definition per actions/<name>/action.lua.
func overridesFromFiles(root string, keys []string, openLibs bool) (map[string]appsv1.ResourceOverride, error) {
	overrides := map[string]appsv1.ResourceOverride{}
	for _, key := range keys {
		dir := filepath.Join(root, filepath.FromSlash(key))
		override := appsv1.ResourceOverride{UseOpenLibs: openLibs}
		if b, err := os.ReadFile(filepath.Join(dir, "health.lua")); err == nil {
			override.HealthLua = string(b)
		} else if !os.IsNotExist(err) {
			return nil, err
		}
		if b, err := os.ReadFile(filepath.Join(dir, "actions", "discovery.lua")); err == nil {
			actions := appsv1.ResourceActions{ActionDiscoveryLua: string(b)}
			entries, err := os.ReadDir(filepath.Join(dir, "actions"))
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				script, err := os.ReadFile(filepath.Join(dir, "actions", e.Name(), "action.lua"))
				if err != nil {
					continue
				}
				actions.Definitions = append(actions.Definitions, appsv1.ResourceActionDefinition{Name: e.Name(), ActionLua: string(script)})
			}
			y, err := yaml.Marshal(actions)
			if err != nil {
				return nil, err
			}
			override.Actions = string(y)
		} else if !os.IsNotExist(err) {
			return nil, err
		}
		overrides[key] = override
	}
	return overrides, nil
}

// overridesFromConfigMap parses an argocd-cm ConfigMap with Argo CD's settings manager, as
// `argocd admin settings … --argocd-cm-path` does (cmd/argocd/commands/admin/settings.go).
func overridesFromConfigMap(path string, openLibs bool) (map[string]appsv1.ResourceOverride, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(b, &cm); err != nil {
		return nil, err
	}
	if cm.Name != "argocd-cm" {
		return nil, fmt.Errorf("%s: metadata.name is %q, Argo CD reads only argocd-cm", path, cm.Name)
	}
	if openLibs {
		// resource.customizations.useOpenLibs.<group_kind> for every customized kind
		for k := range cm.Data {
			if groupKind, ok := strings.CutPrefix(k, "resource.customizations.health."); ok {
				cm.Data["resource.customizations.useOpenLibs."+groupKind] = strconv.FormatBool(true)
			}
		}
	}
	setMeta := func(obj metav1.Object) {
		obj.SetNamespace("default")
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels["app.kubernetes.io/part-of"] = "argocd"
		obj.SetLabels(labels)
	}
	setMeta(&cm)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret"},
		Data:       map[string][]byte{"admin.password": []byte("test"), "server.secretkey": []byte("test")},
	}
	setMeta(secret)
	manager := settings.NewSettingsManager(context.Background(), fake.NewClientset(secret, &cm), "default")
	if err := manager.ResyncInformers(); err != nil {
		return nil, err
	}
	return manager.GetResourceOverrides()
}

func readObject(path string) (*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

func runHealthTests(dir, key string, overrides map[string]appsv1.ResourceOverride, openLibs bool) []result {
	b, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return []result{{Suite: "health", Key: key, Input: "health_test.yaml", Error: err.Error()}}
	}
	var tests healthTests
	if err := yaml.Unmarshal(b, &tests); err != nil {
		return []result{{Suite: "health", Key: key, Input: "health_test.yaml", Error: err.Error()}}
	}
	var results []result
	for _, test := range tests.Tests {
		r := result{Suite: "health", Key: key, Input: test.InputPath, Want: test.HealthStatus}
		results = append(results, func() result {
			obj, err := readObject(filepath.Join(dir, test.InputPath))
			if err != nil {
				r.Error = err.Error()
				return r
			}
			// The application controller's path: the script and its useOpenLibs from the overrides.
			vm := lua.VM{ResourceOverrides: overrides}
			script, useOpenLibs, err := vm.GetHealthScript(obj)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			if script == "" {
				r.Error = "no health script for " + key
				return r
			}
			if useOpenLibs != openLibs {
				r.Error = fmt.Sprintf("useOpenLibs is %v in the overrides, the run asked for %v", useOpenLibs, openLibs)
				return r
			}
			vm.UseOpenLibs = useOpenLibs
			got, err := vm.ExecuteHealthLua(obj, script)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			r.Got = got
			r.OK = reflect.DeepEqual(&test.HealthStatus, got)
			return r
		}())
	}
	return results
}

func runActionTests(dir, key string, overrides map[string]appsv1.ResourceOverride, openLibs bool) []result {
	actionsDir := filepath.Join(dir, "actions")
	b, err := os.ReadFile(filepath.Join(actionsDir, "action_test.yaml"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return []result{{Suite: "action", Key: key, Input: "actions/action_test.yaml", Error: err.Error()}}
	}
	var tests actionTests
	if err := yaml.Unmarshal(b, &tests); err != nil {
		return []result{{Suite: "action", Key: key, Input: "actions/action_test.yaml", Error: err.Error()}}
	}
	vm := lua.VM{ResourceOverrides: overrides, UseOpenLibs: openLibs}
	var results []result
	for _, test := range tests.DiscoveryTests {
		r := result{Suite: "discovery", Key: key, Input: test.InputPath, Want: sortedActions(test.Result)}
		results = append(results, func() result {
			obj, err := readObject(filepath.Join(actionsDir, test.InputPath))
			if err != nil {
				r.Error = err.Error()
				return r
			}
			scripts, err := vm.GetResourceActionDiscovery(obj)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			got, err := vm.ExecuteResourceActionDiscovery(obj, scripts)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			r.Got = sortedActions(got)
			// Argo CD's test asserts each discovered action is in the expected list; this one also
			// asserts every expected action was discovered (the same set).
			r.OK = reflect.DeepEqual(r.Want, r.Got)
			return r
		}())
	}
	for _, test := range tests.ActionTests {
		r := result{Suite: "action", Key: key, Input: test.InputPath, Action: test.Action}
		results = append(results, func() result {
			source, err := readObject(filepath.Join(actionsDir, test.InputPath))
			if err != nil {
				r.Error = err.Error()
				return r
			}
			action, err := vm.GetResourceAction(source, test.Action)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			var params []*applicationpkg.ResourceActionParameters
			for k, v := range test.Parameters {
				params = append(params, &applicationpkg.ResourceActionParameters{Name: &k, Value: &v})
			}
			liveBytes, err := json.Marshal(source.Object)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			impacted, err := vm.ExecuteResourceAction(source, action.ActionLua, params)
			if test.ExpectedErrorMessage != "" {
				r.Want = map[string]string{"error": test.ExpectedErrorMessage}
				if err == nil {
					r.Got = "no error"
					return r
				}
				r.Got = map[string]string{"error": err.Error()}
				r.OK = err.Error() == test.ExpectedErrorMessage
				return r
			}
			if err != nil {
				r.Error = err.Error()
				return r
			}
			expected, err := readObject(filepath.Join(actionsDir, test.ExpectedOutputPath))
			if err != nil {
				r.Error = err.Error()
				return r
			}
			if len(impacted) != 1 || impacted[0].K8SOperation != lua.PatchOperation {
				r.Error = fmt.Sprintf("want one patch of the source object, got %d impacted resources", len(impacted))
				return r
			}
			got := impacted[0].UnstructuredObj
			// Argo CD's test: gitops-engine's diff finds no difference from the expected output.
			d, err := diff.Diff(expected, got)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			// Stricter: the whole object equals the expected output (the diff above ignores fields
			// the expected output leaves out).
			wantJSON, gotJSON := normalize(expected.Object), normalize(got.Object)
			r.Want, r.Got = wantJSON, gotJSON
			newBytes, err := json.Marshal(got.Object)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			// The patch the API server sends for this action (server/application patchResource).
			patch, err := jsonpatch.CreateMergePatch(liveBytes, newBytes)
			if err != nil {
				r.Error = err.Error()
				return r
			}
			r.Patch = patch
			r.OK = !d.Modified && reflect.DeepEqual(wantJSON, gotJSON)
			return r
		}())
	}
	return results
}

// runAction runs one action as the API server does (RunResourceAction: the script from the
// overrides, then a JSON merge patch from the live object to the script's result) and prints
// {"patch": …}; nothing is sent anywhere.
func runAction(overrides map[string]appsv1.ResourceOverride, openLibs bool, name, path string) error {
	obj, err := readObject(path)
	if err != nil {
		return err
	}
	vm := lua.VM{ResourceOverrides: overrides, UseOpenLibs: openLibs}
	action, err := vm.GetResourceAction(obj, name)
	if err != nil {
		return err
	}
	liveBytes, err := json.Marshal(obj.Object)
	if err != nil {
		return err
	}
	impacted, err := vm.ExecuteResourceAction(obj, action.ActionLua, nil)
	if err != nil {
		return err
	}
	if len(impacted) != 1 || impacted[0].K8SOperation != lua.PatchOperation {
		return fmt.Errorf("action %s: want one patch of the object, got %d impacted resources", name, len(impacted))
	}
	newBytes, err := json.Marshal(impacted[0].UnstructuredObj.Object)
	if err != nil {
		return err
	}
	patch, err := jsonpatch.CreateMergePatch(liveBytes, newBytes)
	if err != nil {
		return err
	}
	out, err := json.Marshal(map[string]json.RawMessage{"patch": patch})
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

func sortedActions(actions []appsv1.ResourceAction) []appsv1.ResourceAction {
	out := append([]appsv1.ResourceAction{}, actions...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// normalize round-trips through JSON so that numbers compare alike (Lua returns float64).
func normalize(obj map[string]any) any {
	b, err := json.Marshal(obj)
	if err != nil {
		return err.Error()
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return err.Error()
	}
	return out
}
