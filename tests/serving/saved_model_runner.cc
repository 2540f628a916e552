// Loads a SavedModel with TensorFlow's C++ loader (tensorflow::LoadSavedModel,
// the SavedModelBundle TF Serving's model server is built on) and runs
// signatures on tensors read from files. Compiled and run by
// tests/serving/cpp_loader_test.py against the installed tensorflow wheel.
//
//   saved_model_runner EXPORT_DIR [SIGNATURE IN_DIR OUT_DIR]...
//
// Prints "signature NAME" for every SignatureDef of the `serve` meta graph,
// then for each SIGNATURE feeds IN_DIR/<input key>.pb (serialized
// TensorProtos) and writes OUT_DIR/<output key>.pb.

#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "tensorflow/cc/saved_model/loader.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/framework/tensor.pb.h"
#include "tensorflow/core/platform/env.h"
#include "tensorflow/core/protobuf/meta_graph.pb.h"
#include "tensorflow/core/public/session.h"

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::cerr << what << ": " << status << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (argc - 2) % 3 != 0) {
    std::cerr << "usage: " << argv[0] << " EXPORT_DIR [SIGNATURE IN_DIR OUT_DIR]..." << std::endl;
    return 2;
  }
  tensorflow::SessionOptions session_options;
  tensorflow::RunOptions run_options;
  tensorflow::SavedModelBundle bundle;
  // "serve" is tensorflow::kSavedModelTagServe (tag_constants.h is not in the wheel).
  absl::Status status =
      tensorflow::LoadSavedModel(session_options, run_options, argv[1], {"serve"}, &bundle);
  if (!status.ok()) return Fail("LoadSavedModel", status);

  const auto& signatures = bundle.meta_graph_def.signature_def();
  for (const auto& entry : signatures) std::cout << "signature " << entry.first << std::endl;

  tensorflow::Env* env = tensorflow::Env::Default();
  for (int i = 2; i < argc; i += 3) {
    const std::string name = argv[i], in_dir = argv[i + 1], out_dir = argv[i + 2];
    auto found = signatures.find(name);
    if (found == signatures.end()) {
      std::cerr << "no signature " << name << std::endl;
      return 1;
    }
    const tensorflow::SignatureDef& signature = found->second;
    std::vector<std::pair<std::string, tensorflow::Tensor>> feeds;
    for (const auto& input : signature.inputs()) {
      tensorflow::TensorProto proto;
      status = tensorflow::ReadBinaryProto(env, in_dir + "/" + input.first + ".pb", &proto);
      if (!status.ok()) return Fail("reading input " + input.first, status);
      tensorflow::Tensor tensor;
      if (!tensor.FromProto(proto)) {
        std::cerr << "bad TensorProto for " << input.first << std::endl;
        return 1;
      }
      feeds.emplace_back(input.second.name(), tensor);
    }
    std::vector<std::string> keys, fetches;
    for (const auto& output : signature.outputs()) {
      keys.push_back(output.first);
      fetches.push_back(output.second.name());
    }
    std::vector<tensorflow::Tensor> outputs;
    status = bundle.session->Run(feeds, fetches, {}, &outputs);
    if (!status.ok()) return Fail("running " + name, status);
    for (size_t j = 0; j < outputs.size(); ++j) {
      tensorflow::TensorProto proto;
      outputs[j].AsProtoField(&proto);
      status = tensorflow::WriteBinaryProto(env, out_dir + "/" + keys[j] + ".pb", proto);
      if (!status.ok()) return Fail("writing output " + keys[j], status);
    }
    std::cout << "ran " << name << std::endl;
  }
  return 0;
}
