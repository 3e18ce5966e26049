// Package standin serves resource providers for the end-to-end kit whose real plugins cannot be built here.
//
// pulumi-random and pulumi-tls publish their provider modules without tags, and the Go module proxy serves no
// version of them, so the kit builds stand-ins that keep their contract for the resources this project uses:
// the same type tokens and property names, inputs defaulted as the real providers do, every input change a
// replacement (as in the real providers, whose inputs are all ForceNew), values generated once at creation and
// kept in the state. What they generate is real (crypto/rand passwords, real RSA keys); only the plugin is ours.
package standin

import (
	"context"
	"fmt"
	"sort"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Resource is one resource type: the defaults its optional inputs take and how it is created.
type Resource struct {
	Defaults resource.PropertyMap
	// Create returns the ID and the computed outputs; inputs carry their defaults.
	Create func(inputs resource.PropertyMap) (string, resource.PropertyMap, error)
}

// Serve runs the provider plugin `name` with the given resource types, keyed by type token.
func Serve(name, version string, resources map[string]Resource) {
	err := provider.Main(name, func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{name: name, version: version, resources: resources}, nil
	})
	if err != nil {
		panic(err)
	}
}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer
	name, version string
	resources     map[string]Resource
}

var keep = plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, keep)
}
func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, keep)
}

func (s *server) kind(urn string) (Resource, error) {
	token := string(resource.URN(urn).Type())
	r, ok := s.resources[token]
	if !ok {
		return Resource{}, fmt.Errorf("%s: the kit's %s stand-in does not implement %s", urn, s.name, token)
	}
	return r, nil
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, s.name, s.version)}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	// Secrets arrive unwrapped; the engine keeps secret what the SDK declares secret.
	return &pulumirpc.ConfigureResponse{}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	r, err := s.kind(req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	for key, value := range r.Defaults {
		if _, set := news[key]; !set {
			news[key] = value
		}
	}
	inputs, err := marshal(news)
	return &pulumirpc.CheckResponse{Inputs: inputs}, err
}

// Diff replaces the resource when any input changed: every input of the real providers forces a new resource.
func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	before, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	after, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var changed []string
	for key := range union(before, after) {
		if !before[key].DeepEquals(after[key]) {
			changed = append(changed, string(key))
		}
	}
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	sort.Strings(changed)
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed, Replaces: changed}, nil
}

func union(a, b resource.PropertyMap) map[resource.PropertyKey]bool {
	keys := map[resource.PropertyKey]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

func (s *server) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	r, err := s.kind(req.GetUrn())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, computed, err := r.Create(inputs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.GetUrn(), err)
	}
	outputs := inputs.Copy()
	for key, value := range computed {
		outputs[key] = value
	}
	properties, err := marshal(outputs)
	return &pulumirpc.CreateResponse{Id: id, Properties: properties}, err
}

// Read returns the state as it is: nothing outside Pulumi's state holds these values.
func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (s *server) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
